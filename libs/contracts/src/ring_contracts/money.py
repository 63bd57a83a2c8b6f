"""Money entering or leaving a wallet (the ledger's deposits and withdrawals)."""

from __future__ import annotations

from typing import Annotated

import msgspec

Currency = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]
Amount = Annotated[int, msgspec.Meta(gt=0, le=10**15)]


class MoneyRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An amount in minor units of an ISO currency."""

    amount_minor: Amount
    currency: Currency
