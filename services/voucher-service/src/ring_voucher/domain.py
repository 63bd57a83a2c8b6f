"""Voucher and VoucherTrail aggregates: proof of completion for an order, and its review.

Pure domain code: no I/O and no clock reads; every command takes the instant ``at``. Stored
event classes must never be renamed or moved; evolve them with ``class_version``/``upcast_*``.

A *voucher* is one hand-in (files + note) and is approved or rejected once. The *trail* of an
order lists its vouchers in order and holds the rule "one voucher under review at a time, none
after approval"; a command touching both saves them together, so concurrent hand-ins for one
order cannot both pass (optimistic concurrency on the trail).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, NamedTuple
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

#: Namespace of trail ids: one trail per order, id = uuid5(namespace, order id).
TRAIL_NAMESPACE = UUID("6a1f0b52-3c9e-4f7d-8e21-5b4c3d2a1f09")
#: Longest note a voucher may carry.
MAX_NOTE_LENGTH = 2000


class VoucherStatus(StrEnum):
    """submitted → approved | rejected."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class VoucherFile:
    """One stored file: content address, size, sniffed type, perceptual hash (images only)."""

    sha256: str
    size: int
    content_type: str
    phash: int | None = None

    def as_record(self) -> dict[str, Any]:
        """The file as stored in events (the hash as hex text: JSON has no 64-bit ints)."""
        return {
            "sha256": self.sha256,
            "size": self.size,
            "content_type": self.content_type,
            "phash": None if self.phash is None else f"{self.phash:016x}",
        }

    @classmethod
    def of_record(cls, record: dict[str, Any]) -> VoucherFile:
        """The file from its stored form."""
        phash = record.get("phash")
        return cls(
            sha256=record["sha256"],
            size=record["size"],
            content_type=record["content_type"],
            phash=None if phash is None else int(phash, 16),
        )


class VoucherStep(NamedTuple):
    """One line of a voucher's history."""

    status: VoucherStatus
    at: datetime
    note: str


class Voucher(Aggregate):
    """Files a provider handed in as proof that an order's work is done."""

    class Submitted(Aggregate.Created):
        order_id: UUID
        task_id: UUID
        owner_id: UUID
        provider_id: UUID
        files: list[dict[str, Any]]
        note: str
        flags: list[str]
        duplicate_of: list[UUID]
        resubmission_of: UUID | None
        review_due: datetime
        at: datetime

    def __init__(
        self,
        order_id: UUID,
        task_id: UUID,
        owner_id: UUID,
        provider_id: UUID,
        files: list[dict[str, Any]],
        note: str,
        flags: list[str],
        duplicate_of: list[UUID],
        resubmission_of: UUID | None,
        review_due: datetime,
        at: datetime,
    ) -> None:
        self.order_id = order_id
        self.task_id = task_id
        self.owner_id = owner_id
        self.provider_id = provider_id
        self.files = tuple(VoucherFile.of_record(f) for f in files)
        self.note = note
        self.flags = tuple(flags)
        self.duplicate_of = tuple(duplicate_of)
        self.resubmission_of = resubmission_of
        self.review_due = review_due
        self.status = VoucherStatus.SUBMITTED
        self.approved_automatically = False
        self.history = [VoucherStep(VoucherStatus.SUBMITTED, at, note)]

    @classmethod
    def submit(
        cls,
        *,
        order_id: UUID,
        task_id: UUID,
        owner_id: UUID,
        provider_id: UUID,
        files: Sequence[VoucherFile],
        note: str,
        flags: Sequence[str],
        duplicate_of: Sequence[UUID],
        resubmission_of: UUID | None,
        review_due: datetime,
        at: datetime,
    ) -> Voucher:
        """A new voucher after checking it carries files and a note of acceptable length."""
        if not files:
            raise NoFiles("a voucher needs at least one file")
        if len(note) > MAX_NOTE_LENGTH:
            raise NoteTooLong(f"the note may have at most {MAX_NOTE_LENGTH} characters")
        if review_due <= at:
            raise ValueError("the review must be due after the submission")
        return cls(
            order_id=order_id,
            task_id=task_id,
            owner_id=owner_id,
            provider_id=provider_id,
            files=[f.as_record() for f in files],
            note=note,
            flags=sorted(set(flags)),
            duplicate_of=sorted(set(duplicate_of), key=str),
            resubmission_of=resubmission_of,
            review_due=review_due,
            at=at,
        )

    @property
    def is_decided(self) -> bool:
        """True once approved or rejected."""
        return self.status is not VoucherStatus.SUBMITTED

    class Decision(Aggregate.Event):
        """An event deciding the voucher; carries the order and both parties."""

        STATUS: ClassVar[VoucherStatus]
        order_id: UUID
        task_id: UUID
        owner_id: UUID
        provider_id: UUID
        at: datetime

        @property
        def note(self) -> str:
            return ""

        def apply(self, aggregate: Voucher) -> None:
            aggregate.status = self.STATUS
            aggregate.history.append(VoucherStep(self.STATUS, self.at, self.note))

    class Approved(Decision):
        STATUS = VoucherStatus.APPROVED
        automatic: bool

        @property
        def note(self) -> str:
            return "approved automatically after the review window" if self.automatic else ""

        def apply(self, aggregate: Voucher) -> None:
            super().apply(aggregate)
            aggregate.approved_automatically = self.automatic

    class Rejected(Decision):
        STATUS = VoucherStatus.REJECTED
        reason: str

        @property
        def note(self) -> str:
            return self.reason

    def approve(self, at: datetime, *, automatic: bool = False) -> None:
        """Accept the voucher (by the owner, or by the platform when the window ran out)."""
        self._decide(self.Approved, at, automatic=automatic)

    def reject(self, reason: str, at: datetime) -> None:
        """Turn the voucher down with a reason; the provider may resubmit or dispute."""
        if not reason.strip():
            raise ReasonRequired("a rejection needs a reason")
        self._decide(self.Rejected, at, reason=reason.strip())

    def _decide(self, decision: type[Voucher.Decision], at: datetime, **details: Any) -> None:
        if self.is_decided:
            raise AlreadyDecided(f"the voucher is already {self.status}")
        self.trigger_event(
            decision,
            order_id=self.order_id,
            task_id=self.task_id,
            owner_id=self.owner_id,
            provider_id=self.provider_id,
            at=at,
            **details,
        )


class VoucherTrail(Aggregate):
    """Every voucher handed in for one order, oldest first, and which one is under review."""

    class Started(Aggregate.Created):
        order_id: UUID

    @staticmethod
    def create_id(order_id: UUID) -> UUID:
        """The trail id of ``order_id`` (the same on every call)."""
        return uuid5(TRAIL_NAMESPACE, str(order_id))

    def __init__(self, order_id: UUID) -> None:
        self.order_id = order_id
        self.voucher_ids: list[UUID] = []
        self.under_review: UUID | None = None
        self.approved: UUID | None = None

    @property
    def latest(self) -> UUID | None:
        """The last voucher handed in, if any."""
        return self.voucher_ids[-1] if self.voucher_ids else None

    def check_open(self) -> None:
        """Raise unless a new voucher may be handed in now."""
        if self.approved is not None:
            raise OrderAlreadyApproved("a voucher of this order was already approved")
        if self.under_review is not None:
            raise VoucherUnderReview(
                f"voucher {self.under_review} is still under review; wait for the decision"
            )

    class VoucherAdded(Aggregate.Event):
        voucher_id: UUID

        def apply(self, aggregate: VoucherTrail) -> None:
            aggregate.voucher_ids.append(self.voucher_id)
            aggregate.under_review = self.voucher_id

    def add(self, voucher_id: UUID) -> None:
        """Record a new voucher; call :meth:`check_open` first."""
        self.trigger_event(self.VoucherAdded, voucher_id=voucher_id)

    class VoucherDecided(Aggregate.Event):
        voucher_id: UUID
        approved: bool

        def apply(self, aggregate: VoucherTrail) -> None:
            aggregate.under_review = None
            if self.approved:
                aggregate.approved = self.voucher_id

    def decided(self, voucher_id: UUID, approved: bool) -> None:
        """Record the decision on the voucher under review."""
        self.trigger_event(self.VoucherDecided, voucher_id=voucher_id, approved=approved)


# -- disputes: no approval while the order is under an open dispute --------------------------

#: The state of an order's latest dispute, as the voucher service's read model of
#: ``ring.dispute.events`` records it (None: the order was never disputed).
OPEN, RESOLVED, WITHDRAWN = "open", "resolved", "withdrawn"


def check_manual_approval(dispute_state: str | None) -> None:
    """The owner's approval is refused while a dispute about the order is open: the arbitrator
    decides the money then, and the order is ``disputed`` in the task service, which would
    refuse the approval anyway.

    Raises:
        OrderUnderDispute: the order's latest dispute is open.
    """
    if dispute_state == OPEN:
        raise OrderUnderDispute("the order is under an open dispute; arbitration decides")


def approves_automatically(dispute_state: str | None) -> bool:
    """Whether a voucher whose review window ran out is approved now.

    * dispute **open** → the approval is deferred: :class:`DeferredByDispute` is raised, so the
      durable timer retries later with backoff (up to hourly) and keeps the reason;
    * dispute **resolved** → the arbitrator decided the money; no approval (False);
    * no dispute, or **withdrawn** → the voucher is approved as usual (True).
    """
    if dispute_state == OPEN:
        raise DeferredByDispute("the order is under an open dispute")
    return dispute_state != RESOLVED


class DeferredByDispute(Exception):
    """The order is under an open dispute; the automatic approval waits."""


# -- exceptions: each has a stable machine-readable ``code`` ---------------------------------


class VoucherServiceError(Exception):
    """Base of every error a client of the voucher service can cause."""

    code: ClassVar[str] = "voucher_service_error"


class VoucherNotFound(VoucherServiceError):
    code = "voucher_not_found"


class OrderNotFound(VoucherServiceError):
    code = "order_not_found"


class VoucherFileNotFound(VoucherServiceError):
    code = "voucher_file_not_found"


class NotOrderProvider(VoucherServiceError):
    code = "not_order_provider"


class NotTaskOwner(VoucherServiceError):
    code = "not_task_owner"


class NotOrderParty(VoucherServiceError):
    code = "not_order_party"


class OrderNotOpen(VoucherServiceError):
    code = "order_not_open"


class NoFiles(VoucherServiceError):
    code = "no_files"


class TooManyFiles(VoucherServiceError):
    code = "too_many_files"


class NoteTooLong(VoucherServiceError):
    code = "note_too_long"


class ReasonRequired(VoucherServiceError):
    code = "reason_required"


class AlreadyDecided(VoucherServiceError):
    code = "already_decided"


class VoucherUnderReview(VoucherServiceError):
    code = "voucher_under_review"


class OrderAlreadyApproved(VoucherServiceError):
    code = "order_already_approved"


class OrderUnderDispute(VoucherServiceError):
    """The order's voucher cannot be approved while a dispute about it is open."""

    code: ClassVar[str] = "order_under_dispute"
