"""Platform money totals per currency, read from the ledger's accounts (``GET /internal/totals``).

One pass over every account ever opened (as ``ledger check`` does), summed by purpose:

- ``fee_revenue_minor``: posted balance of the platform's fee revenue account;
- ``escrow_held_minor``: posted balances of every task escrow account;
- ``wallets_held_minor``: posted balances of every party's available account (money the
  platform owes its users, including amounts reserved for requested payouts);
- ``deposits_minor``: debits posted on deposit clearing (confirmed deposits);
- ``payouts_paid_minor`` / ``payouts_pending_minor``: credits posted / pending on payout
  clearing (paid payouts / requested ones still in clearance).

Cost: it loads every account (snapshotted every 50 events), so it grows with the number of
parties and tasks; it is an admin figure, not a hot path. An accounts read model is the
upgrade path if that matters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import msgspec
from litestar import get
from litestar.di import NamedDependency

from ring_ledger.application import Ledger
from ring_ledger.domain import Account
from ring_ledger.domain.accounts import Purpose
from ring_runtime.http import allow
from ring_runtime.identity import ADMIN


class CurrencyTotals(msgspec.Struct, kw_only=True):
    """The platform's money in one currency, in minor units."""

    currency: str
    fee_revenue_minor: int = 0
    escrow_held_minor: int = 0
    wallets_held_minor: int = 0
    deposits_minor: int = 0
    payouts_paid_minor: int = 0
    payouts_pending_minor: int = 0


class LedgerTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Totals per currency, ordered by currency code."""

    currencies: list[CurrencyTotals]


def totals_of(accounts: Iterable[Account]) -> LedgerTotals:
    """Sum ``accounts`` by currency and purpose."""
    found: dict[str, CurrencyTotals] = {}
    for account in accounts:
        row = found.setdefault(account.currency, CurrencyTotals(currency=account.currency))
        if account.purpose is Purpose.FEE_REVENUE:
            row.fee_revenue_minor += account.balance
        elif account.purpose is Purpose.ESCROW:
            row.escrow_held_minor += account.balance
        elif account.purpose is Purpose.AVAILABLE:
            row.wallets_held_minor += account.balance
        elif account.purpose is Purpose.DEPOSIT_CLEARING:
            row.deposits_minor += account.debits_posted
        elif account.purpose is Purpose.PAYOUT_CLEARING:
            row.payouts_paid_minor += account.credits_posted
            row.payouts_pending_minor += account.credits_pending
    return LedgerTotals(currencies=[found[code] for code in sorted(found)])


@get("/internal/totals", operation_id="GetLedgerTotals", guards=[allow(ADMIN)], tags=["operations"])
async def ledger_totals(ledger: NamedDependency[Ledger]) -> LedgerTotals:
    """Fee revenue, escrow held, wallets held, deposits and payouts per currency."""
    return await asyncio.to_thread(lambda: totals_of(ledger.accounts()))
