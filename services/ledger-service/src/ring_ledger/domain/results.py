"""Immutable results of ledger commands and queries.

A repeated command (same idempotency key, same terms) returns a result equal to the original
one, so these are plain frozen value objects compared by value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class TransferResult:
    """A transfer was recorded (posted at once, or pending until posted or voided)."""

    transfer_id: str
    amount_minor: int
    currency: str
    pending: bool


@dataclass(frozen=True, slots=True)
class PendingResolved:
    """A pending transfer was posted (fully or partly) or voided; the rest went back."""

    transfer_id: str
    posted_minor: int
    released_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class Reserved:
    """A task's escrow holds ``slots x (commission + fee)`` taken from Party A's available."""

    task_id: str
    owner_id: str
    amount_minor: int
    currency: str
    slots: int
    commission_minor: int
    fee_minor: int


@dataclass(frozen=True, slots=True)
class Rejected:
    """A task's escrow could not be funded; nothing was recorded."""

    task_id: str
    shortfall_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class Settlement:
    """One order's slot left escrow: provider share to B, fee to the platform, rest to A."""

    task_id: str
    order_id: str
    provider_id: str
    provider_share_percent: int
    provider_minor: int
    fee_minor: int
    refund_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class Release:
    """Unused slots of a task's escrow were refunded to Party A."""

    task_id: str
    release_id: str
    slots: int
    refund_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class Balances:
    """A party's money in one currency: spendable, and reserved (pending debits + escrow)."""

    party_id: str
    currency: str
    available_minor: int
    reserved_minor: int


@dataclass(frozen=True, slots=True)
class Posting:
    """One entry of an account statement: the change one event made to the account."""

    sequence: int
    transfer_id: str
    code: str
    debit_minor: int
    credit_minor: int
    pending_debit_minor: int
    pending_credit_minor: int
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Statement:
    """A page of postings; pass ``next_cursor`` back to read the next page (None = end)."""

    party_id: str
    currency: str
    postings: list[Posting] = field(default_factory=list)
    next_cursor: int | None = None


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken ledger invariant found by ``check()``."""

    code: str
    subject: str
    detail: str
