"""Decisions with a reason: rejecting a voucher (voucher service), a qualification (matching) or
an application (task service)."""

from __future__ import annotations

from typing import Annotated

import msgspec

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class ReasonRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A decision that must give a reason."""

    reason: Reason


class OptionalReasonRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A decision whose reason is optional."""

    reason: Annotated[str, msgspec.Meta(max_length=2000)] = ""
