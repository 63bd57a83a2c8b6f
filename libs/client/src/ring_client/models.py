"""What the API answers, as msgspec Structs.

The gateway's OpenAPI document describes answers by example, not by schema, so these are
written by hand; ``tests/unit/test_drift.py`` holds them to the document: every documented
example must decode into its model, and every field an example shows must be a field here.
Fields the examples leave out carry defaults, so decoding never depends on them; unknown
fields are ignored, so the server can add fields without breaking older clients.
"""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

import msgspec

T = TypeVar("T")


class Page(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """One page of a cursor-paged collection; pass ``next_cursor`` back as ``cursor``."""

    items: list[T]
    next_cursor: str | None = None


class Created(msgspec.Struct, frozen=True, kw_only=True):
    """A resource was created: its id and first status."""

    id: UUID
    status: str


class Task(msgspec.Struct, frozen=True, kw_only=True):
    """A task as its owner and providers see it."""

    id: UUID
    owner_id: UUID
    title: str
    status: str
    commission_minor: int
    fee_minor: int
    currency: str
    slots: int
    slots_left: int
    reserved_minor: int
    description: str = ""
    requirements: str = ""
    acceptance_criteria: str = ""
    deadline: datetime | None = None
    required_skills: list[str] = []
    approval_required: bool = False
    #: Only in the answer to a cancellation: unsubmitted orders cancelled with the task.
    cancelled_orders: int | None = None


class TaskSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A task as listed on the board."""

    id: UUID
    owner_id: UUID
    title: str
    status: str
    commission_minor: int
    fee_minor: int
    currency: str
    slots: int
    slots_left: int
    description: str = ""
    required_skills: list[str] = []
    deadline: datetime | None = None
    created_at: datetime | None = None


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """A provider ranked for a task."""

    provider_id: UUID
    score: float


class Recommendation(msgspec.Struct, frozen=True, kw_only=True):
    """An open task ranked for the calling provider."""

    task_id: UUID
    score: float


class OrderStep(msgspec.Struct, frozen=True, kw_only=True):
    """One step of an order's history."""

    status: str
    at: datetime
    note: str = ""


class Order(msgspec.Struct, frozen=True, kw_only=True):
    """An order with its full history."""

    id: UUID
    task_id: UUID
    status: str
    history: list[OrderStep]
    owner_id: UUID | None = None
    provider_id: UUID | None = None
    commission_minor: int | None = None
    fee_minor: int | None = None
    currency: str | None = None
    deadline: datetime | None = None


class OrderSummary(msgspec.Struct, frozen=True, kw_only=True):
    """An order as listed for its parties (statuses eventually consistent: ``get_order`` is
    authoritative)."""

    id: UUID
    task_id: UUID
    owner_id: UUID
    provider_id: UUID
    status: str
    percent: int
    created_at: datetime
    updated_at: datetime


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """A message between the parties of an order."""

    id: UUID
    order_id: UUID
    author_id: UUID
    role: str
    body: str
    at: datetime


class VoucherFile(msgspec.Struct, frozen=True, kw_only=True):
    """One file of a voucher, addressed by its SHA-256."""

    sha256: str
    size: int
    content_type: str


class Voucher(msgspec.Struct, frozen=True, kw_only=True):
    """Proof of completion with its files and fake-voucher flags."""

    id: UUID
    order_id: UUID
    status: str
    files: list[VoucherFile]
    #: ``"duplicate_content"`` when a file was already used elsewhere.
    flags: list[str]
    duplicate_of: list[UUID]
    task_id: UUID | None = None
    note: str = ""
    resubmission_of: UUID | None = None
    review_due: datetime | None = None
    approved_automatically: bool = False


class SubmittedVoucher(msgspec.Struct, frozen=True, kw_only=True):
    """A voucher was handed in: its id and each file's SHA-256, in upload order."""

    id: UUID
    sha256: list[str]


class Wallet(msgspec.Struct, frozen=True, kw_only=True):
    """Available and reserved money of the caller in one currency (minor units)."""

    currency: str
    available_minor: int
    reserved_minor: int


class Deposit(msgspec.Struct, frozen=True, kw_only=True):
    """Money paid into Party A's wallet."""

    id: UUID
    status: str
    amount_minor: int
    currency: str


class Withdrawal(msgspec.Struct, frozen=True, kw_only=True):
    """A payout of Party B's available money: ``requested`` until ``clears_at``, then
    ``paid``, or ``cancelled``."""

    id: UUID
    status: str
    amount_minor: int
    currency: str
    party_id: str | None = None
    clears_at: datetime | None = None


class Posting(msgspec.Struct, frozen=True, kw_only=True):
    """One posting on the caller's available money."""

    sequence: int
    transfer_id: str
    code: str
    debit_minor: int
    credit_minor: int
    pending_debit_minor: int
    pending_credit_minor: int
    occurred_at: datetime


class Statement(msgspec.Struct, frozen=True, kw_only=True):
    """One page of the caller's statement in one currency, oldest first."""

    party_id: str
    currency: str
    postings: list[Posting]
    next_cursor: int | None = None

    @property
    def items(self) -> list[Posting]:
        """The page's postings (so a statement pages like every other collection)."""
        return self.postings


class Qualification(msgspec.Struct, frozen=True, kw_only=True):
    """A provider's latest qualification."""

    kind: str
    reference: str
    skills: list[str]


class Provider(msgspec.Struct, frozen=True, kw_only=True):
    """A provider's qualification and standing."""

    id: UUID
    #: ``unsubmitted``, ``pending``, ``verified`` or ``rejected``.
    verification: str
    suspended: bool
    may_take_orders: bool
    qualification: Qualification


class Evidence(msgspec.Struct, frozen=True, kw_only=True):
    """One piece of evidence in a dispute."""

    added_by: UUID
    role: str
    statement: str
    at: datetime
    sha256: str | None = None


class Dispute(msgspec.Struct, frozen=True, kw_only=True):
    """A dispute about an order, with the parties' evidence."""

    id: UUID
    order_id: UUID
    task_id: UUID
    owner_id: UUID
    provider_id: UUID
    opened_by: UUID
    category: str
    status: str
    opened_at: datetime
    response_due: datetime
    overdue: bool
    reason: str = ""
    response: str | None = None
    evidence: list[Evidence] = []
    arbitration_due: datetime | None = None
    escalated_automatically: bool = False
    outcome: str | None = None
    provider_share_percent: int | None = None
    resolved_by: UUID | None = None
    order_status: str | None = None
    order_history: list[OrderStep] = []
