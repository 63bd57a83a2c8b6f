"""Task and Order aggregates: Party A's pre-funded demand and the slots Party B takes.

Pure domain code: no I/O and no clock reads; every command takes the instant ``at`` it happens.
Commands check invariants, then trigger an explicitly declared event class; only the event's
``apply`` mutates state, so replaying stored events never re-runs a check. Stored event classes must
never be renamed or moved (their path is stored with each event) unless the old path is
registered for the new class (``register_topic``, as for ``Order.DisputeWithdrawn``); evolve
them with ``class_version`` and ``upcast_vX_vY``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, NamedTuple
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import register_topic

#: A task offers at most this many slots.
MAX_SLOTS = 1000
#: Fee rates are in basis points: 10 000 bps = 100 %.
BPS_PER_UNIT = 10_000


def platform_fee(commission_minor: int, fee_bps: int) -> int:
    """Platform fee per slot, in minor units, for a commission and a rate in basis points.

    Rounding rule: the exact fee ``commission_minor * fee_bps / 10 000`` is rounded half up
    to the minor unit (0.5 fen and above become 1 fen), in integers only, never floats.
    """
    if commission_minor < 0:
        raise ValueError("commission must not be negative")
    if not 0 <= fee_bps <= BPS_PER_UNIT:
        raise ValueError(f"fee rate must be 0..{BPS_PER_UNIT} bps, got {fee_bps}")
    return (commission_minor * fee_bps + BPS_PER_UNIT // 2) // BPS_PER_UNIT


class TaskStatus(StrEnum):
    """Where a task is in its life: draft → funding → published → completed."""

    DRAFT = "draft"
    FUNDING = "funding"
    PUBLISHED = "published"
    COMPLETED = "completed"
    FUNDING_FAILED = "funding_failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Task(Aggregate):
    """Party A's task: commission per slot, held in escrow, taken slot by slot by providers."""

    class Created(Aggregate.Created):
        owner_id: UUID
        title: str
        description: str
        requirements: str
        acceptance_criteria: str
        deadline: datetime
        commission_minor: int
        currency: str
        fee_minor: int
        slots: int
        required_skills: list[str]
        approval_required: bool
        at: datetime

    def __init__(
        self,
        owner_id: UUID,
        title: str,
        description: str,
        requirements: str,
        acceptance_criteria: str,
        deadline: datetime,
        commission_minor: int,
        currency: str,
        fee_minor: int,
        slots: int,
        required_skills: list[str],
        approval_required: bool,
        at: datetime,
    ) -> None:
        self.owner_id = owner_id
        self.title = title
        self.description = description
        self.requirements = requirements
        self.acceptance_criteria = acceptance_criteria
        self.deadline = deadline
        self.commission_minor = commission_minor
        self.currency = currency
        self.fee_minor = fee_minor
        self.slots = slots
        self.required_skills = tuple(required_skills)
        self.approval_required = approval_required
        self.created_at = at
        self.status = TaskStatus.DRAFT
        self.open_orders: dict[UUID, UUID] = {}  # order id → provider id
        self.settled_orders: list[UUID] = []
        self.refunded_orders: list[UUID] = []
        self.order_holders: list[UUID] = []  # every provider that ever took a slot

    def visible_to(self, user_id: UUID) -> bool:
        """Whether ``user_id`` may read this task: a published task is on the board for all;
        otherwise only its owner and the providers that hold (or held) an order on it see it."""
        return (
            self.status is TaskStatus.PUBLISHED
            or user_id == self.owner_id
            or user_id in self.order_holders
        )

    @classmethod
    def create(
        cls,
        *,
        owner_id: UUID,
        title: str,
        description: str,
        requirements: str,
        acceptance_criteria: str,
        deadline: datetime,
        commission_minor: int,
        currency: str,
        slots: int,
        required_skills: tuple[str, ...] | list[str],
        approval_required: bool,
        fee_bps: int,
        currencies: frozenset[str],
        now: datetime,
    ) -> Task:
        """Draft a task after checking its terms; the fee is fixed now from ``fee_bps``.

        ``currencies`` are those the platform settles in (``RING_CURRENCIES``)."""
        if not title.strip():
            raise InvalidTaskDetails("a task needs a title")
        if deadline.tzinfo is None or deadline <= now:
            raise InvalidDeadline("the deadline must be a timezone-aware instant in the future")
        if not 1 <= slots <= MAX_SLOTS:
            raise InvalidSlots(f"slots must be 1..{MAX_SLOTS}, got {slots}")
        if commission_minor <= 0:
            raise InvalidCommission("the commission must be a positive amount of minor units")
        if currency not in currencies:
            raise UnsupportedCurrency(f"currency {currency!r} is not supported")
        return cls(
            owner_id=owner_id,
            title=title.strip(),
            description=description,
            requirements=requirements,
            acceptance_criteria=acceptance_criteria,
            deadline=deadline,
            commission_minor=commission_minor,
            currency=currency,
            fee_minor=platform_fee(commission_minor, fee_bps),
            slots=slots,
            required_skills=sorted({skill.strip() for skill in required_skills if skill.strip()}),
            approval_required=approval_required,
            at=now,
        )

    @property
    def slots_left(self) -> int:
        """Slots a provider may still take."""
        used = len(self.open_orders) + len(self.settled_orders) + len(self.refunded_orders)
        return self.slots - used

    @property
    def escrow_minor(self) -> int:
        """What the ledger holds for this task once funded: every slot's commission and fee."""
        return self.slots * (self.commission_minor + self.fee_minor)

    # -- lifecycle -----------------------------------------------------------------------

    class PublishRequested(Aggregate.Event):
        owner_id: UUID
        slots: int
        commission_minor: int
        fee_minor: int
        currency: str
        at: datetime

        def apply(self, aggregate: Task) -> None:
            aggregate.status = TaskStatus.FUNDING

    def publish(self, at: datetime) -> None:
        """Ask the ledger to hold the commission; the task waits in ``funding``."""
        self._require(TaskStatus.DRAFT, TaskStatus.FUNDING_FAILED, action="publish")
        if at >= self.deadline:
            raise DeadlinePassed("the deadline has passed; the task can no longer be published")
        self.trigger_event(
            self.PublishRequested,
            owner_id=self.owner_id,
            slots=self.slots,
            commission_minor=self.commission_minor,
            fee_minor=self.fee_minor,
            currency=self.currency,
            at=at,
        )

    class Published(Aggregate.Event):
        owner_id: UUID
        title: str
        deadline: datetime
        commission_minor: int
        currency: str
        slots: int
        required_skills: list[str]
        at: datetime

        def apply(self, aggregate: Task) -> None:
            aggregate.status = TaskStatus.PUBLISHED

    def mark_published(self, at: datetime) -> None:
        """Escrow holds the commission: put the task on the board."""
        self._require(TaskStatus.FUNDING, action="mark published")
        self.trigger_event(
            self.Published,
            owner_id=self.owner_id,
            title=self.title,
            deadline=self.deadline,
            commission_minor=self.commission_minor,
            currency=self.currency,
            slots=self.slots,
            required_skills=list(self.required_skills),
            at=at,
        )

    class FundingFailed(Aggregate.Event):
        owner_id: UUID
        reason: str
        at: datetime

        def apply(self, aggregate: Task) -> None:
            aggregate.status = TaskStatus.FUNDING_FAILED

    def mark_funding_failed(self, reason: str, at: datetime) -> None:
        """The ledger could not hold the commission; the owner may publish again later."""
        self._require(TaskStatus.FUNDING, action="mark funding failed")
        self.trigger_event(self.FundingFailed, owner_id=self.owner_id, reason=reason, at=at)

    class Cancelled(Aggregate.Event):
        owner_id: UUID
        at: datetime

        def apply(self, aggregate: Task) -> None:
            aggregate.status = TaskStatus.CANCELLED

    def cancel(self, at: datetime) -> None:
        """Withdraw the task. Not while funding is undecided, nor while orders are open."""
        self._require(
            TaskStatus.DRAFT, TaskStatus.FUNDING_FAILED, TaskStatus.PUBLISHED, action="cancel"
        )
        self._require_no_open_orders(action="cancel")
        self.trigger_event(self.Cancelled, owner_id=self.owner_id, at=at)

    class Expired(Aggregate.Event):
        owner_id: UUID
        at: datetime

        def apply(self, aggregate: Task) -> None:
            aggregate.status = TaskStatus.EXPIRED

    def expire(self, at: datetime) -> None:
        """Close the board entry at the deadline; open orders run to their end."""
        self._require(TaskStatus.PUBLISHED, action="expire")
        if at < self.deadline:
            raise DeadlineNotReached("the task cannot expire before its deadline")
        self.trigger_event(self.Expired, owner_id=self.owner_id, at=at)

    class Completed(Aggregate.Event):
        owner_id: UUID
        settled_slots: int
        at: datetime

        def apply(self, aggregate: Task) -> None:
            aggregate.status = TaskStatus.COMPLETED

    def complete(self, at: datetime) -> None:
        """Close the task: no order open, and every slot used up or the task expired."""
        self._require(TaskStatus.PUBLISHED, TaskStatus.EXPIRED, action="complete")
        self._require_no_open_orders(action="complete")
        if self.status is TaskStatus.PUBLISHED and self.slots_left:
            raise IllegalTransition("a published task completes once every slot is used up")
        self.trigger_event(
            self.Completed,
            owner_id=self.owner_id,
            settled_slots=len(self.settled_orders),
            at=at,
        )

    # -- slot accounting -------------------------------------------------------------------

    class SlotTaken(Aggregate.Event):
        order_id: UUID
        provider_id: UUID
        at: datetime

        def apply(self, aggregate: Task) -> None:
            aggregate.open_orders[self.order_id] = self.provider_id
            if self.provider_id not in aggregate.order_holders:
                aggregate.order_holders.append(self.provider_id)

    def take_slot(self, order_id: UUID, provider_id: UUID, at: datetime) -> None:
        """Reserve one slot for ``order_id``: published, before the deadline, one per provider."""
        if self.status is not TaskStatus.PUBLISHED:
            raise TaskNotOpen(f"the task is {self.status}, not open for orders")
        if at >= self.deadline:
            raise DeadlinePassed("the task's deadline has passed")
        if provider_id == self.owner_id:
            raise OwnTask("the owner cannot take their own task")
        if provider_id in self.open_orders.values():
            raise AlreadyHoldsSlot("the provider already holds a slot of this task")
        if self.slots_left <= 0:
            raise NoSlotsLeft("every slot of the task is taken")
        self.trigger_event(self.SlotTaken, order_id=order_id, provider_id=provider_id, at=at)

    class SlotReleased(Aggregate.Event):
        order_id: UUID
        at: datetime

        def apply(self, aggregate: Task) -> None:
            del aggregate.open_orders[self.order_id]

    def release_slot(self, order_id: UUID, at: datetime) -> None:
        """Free the slot of an order that ended without settlement."""
        self._require_open(order_id)
        self.trigger_event(self.SlotReleased, order_id=order_id, at=at)

    class SlotSettled(Aggregate.Event):
        order_id: UUID
        at: datetime

        def apply(self, aggregate: Task) -> None:
            del aggregate.open_orders[self.order_id]
            aggregate.settled_orders.append(self.order_id)

    def settle_slot(self, order_id: UUID, at: datetime) -> None:
        """Count the slot of a settled order as used for good."""
        self._require_open(order_id)
        self.trigger_event(self.SlotSettled, order_id=order_id, at=at)

    class SlotRefunded(Aggregate.Event):
        order_id: UUID
        at: datetime

        def apply(self, aggregate: Task) -> None:
            del aggregate.open_orders[self.order_id]
            aggregate.refunded_orders.append(self.order_id)

    def refund_slot(self, order_id: UUID, at: datetime) -> None:
        """Retire the slot of an order whose commission a dispute refunded to the owner.

        The slot is not offered again: its escrow went back to the owner.
        """
        self._require_open(order_id)
        self.trigger_event(self.SlotRefunded, order_id=order_id, at=at)

    # -- guards ----------------------------------------------------------------------------

    def _require(self, *allowed: TaskStatus, action: str) -> None:
        if self.status not in allowed:
            raise IllegalTransition(f"cannot {action} a task that is {self.status}")

    def _require_no_open_orders(self, action: str) -> None:
        if self.open_orders:
            raise OpenOrdersRemain(f"cannot {action}: {len(self.open_orders)} order(s) open")

    def _require_open(self, order_id: UUID) -> None:
        if order_id not in self.open_orders:
            raise SlotNotHeld(f"order {order_id} holds no slot of this task")


class OrderStatus(StrEnum):
    """Where an order is: applied → accepted → in_progress → submitted → approved → settled."""

    APPLIED = "applied"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    SETTLED = "settled"
    DECLINED = "declined"
    REJECTED = "rejected"
    DISPUTED = "disputed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


#: Orders whose work is not handed in (or was rejected): they expire at the deadline.
WORKING = frozenset(
    {OrderStatus.APPLIED, OrderStatus.ACCEPTED, OrderStatus.IN_PROGRESS, OrderStatus.REJECTED}
)
#: Orders in these statuses are over; their slot is settled or released.
FINISHED = frozenset(
    {
        OrderStatus.SETTLED,
        OrderStatus.DECLINED,
        OrderStatus.EXPIRED,
        OrderStatus.CANCELLED,
        OrderStatus.REFUNDED,
    }
)
#: Statuses a disputed order may return to when its dispute is withdrawn.
RETURNABLE = frozenset({OrderStatus.SUBMITTED, OrderStatus.REJECTED})


class OrderStep(NamedTuple):
    """One line of an order's history."""

    status: OrderStatus
    at: datetime
    note: str


class Order(Aggregate):
    """One slot of a task taken by a provider, from application to settlement.

    Every event carries the task and both parties, so each one can be published on its own.
    """

    class Applied(Aggregate.Created):
        task_id: UUID
        owner_id: UUID
        provider_id: UUID
        deadline: datetime
        commission_minor: int
        fee_minor: int
        currency: str
        at: datetime

    def __init__(
        self,
        task_id: UUID,
        owner_id: UUID,
        provider_id: UUID,
        deadline: datetime,
        commission_minor: int,
        fee_minor: int,
        currency: str,
        at: datetime,
    ) -> None:
        self.task_id = task_id
        self.owner_id = owner_id
        self.provider_id = provider_id
        self.deadline = deadline
        self.commission_minor = commission_minor
        self.fee_minor = fee_minor
        self.currency = currency
        self.status = OrderStatus.APPLIED
        self.percent = 0
        self.voucher_id: UUID | None = None
        self.history = [OrderStep(OrderStatus.APPLIED, at, "")]

    class Step(Aggregate.Event):
        """An event moving the order to ``STATUS``; ``note`` goes into the history."""

        STATUS: ClassVar[OrderStatus]
        task_id: UUID
        owner_id: UUID
        provider_id: UUID
        at: datetime

        @property
        def note(self) -> str:
            return ""

        def apply(self, aggregate: Order) -> None:
            aggregate.status = self.STATUS
            aggregate.history.append(OrderStep(self.STATUS, self.at, self.note))

    class Accepted(Step):
        STATUS = OrderStatus.ACCEPTED

    class Declined(Step):
        STATUS = OrderStatus.DECLINED
        reason: str

        @property
        def note(self) -> str:
            return self.reason

    class Progressed(Step):
        STATUS = OrderStatus.IN_PROGRESS
        percent: int
        progress_note: str

        @property
        def note(self) -> str:
            return f"{self.percent}% {self.progress_note}".strip()

        def apply(self, aggregate: Order) -> None:
            super().apply(aggregate)
            aggregate.percent = self.percent

    class Submitted(Step):
        STATUS = OrderStatus.SUBMITTED
        voucher_id: UUID | None

        def apply(self, aggregate: Order) -> None:
            super().apply(aggregate)
            aggregate.voucher_id = self.voucher_id

    class Approved(Step):
        STATUS = OrderStatus.APPROVED
        commission_minor: int
        fee_minor: int
        currency: str

    class Rejected(Step):
        STATUS = OrderStatus.REJECTED
        reason: str

        @property
        def note(self) -> str:
            return self.reason

    class Disputed(Step):
        STATUS = OrderStatus.DISPUTED

    class Settled(Step):
        STATUS = OrderStatus.SETTLED
        commission_minor: int
        currency: str

    class Refunded(Step):
        STATUS = OrderStatus.REFUNDED

    class Expired(Step):
        STATUS = OrderStatus.EXPIRED

    class Cancelled(Step):
        STATUS = OrderStatus.CANCELLED

    class DisputeWithdrawn(Step):
        """The dispute about the order was withdrawn; the order is back at ``back_to``."""

        STATUS = OrderStatus.DISPUTED
        back_to: str

        @property
        def note(self) -> str:
            return "dispute withdrawn"

        def apply(self, aggregate: Order) -> None:
            status = OrderStatus(self.back_to)
            aggregate.status = status
            aggregate.history.append(OrderStep(status, self.at, self.note))

    @property
    def is_settled(self) -> bool:
        """True once the commission reached the provider."""
        return self.status is OrderStatus.SETTLED

    @property
    def holds_slot(self) -> bool:
        """True while the order occupies one of the task's slots."""
        return self.status not in FINISHED

    def accept(self, at: datetime) -> None:
        """The owner admits the application; the provider may start."""
        self._move(self.Accepted, {OrderStatus.APPLIED}, at)

    def decline(self, reason: str, at: datetime) -> None:
        """The owner turns the application down; the caller releases the slot."""
        self._move(self.Declined, {OrderStatus.APPLIED}, at, reason=reason)

    def report_progress(self, percent: int, note: str, at: datetime) -> None:
        """The provider reports how far the work is (0..100 %)."""
        if not 0 <= percent <= 100:
            raise InvalidProgress(f"progress must be 0..100 %, got {percent}")
        allowed = {OrderStatus.ACCEPTED, OrderStatus.IN_PROGRESS, OrderStatus.REJECTED}
        self._move(self.Progressed, allowed, at, percent=percent, progress_note=note)

    def submit(self, voucher_id: UUID | None, at: datetime) -> None:
        """The provider hands in the work; after a rejection this is a resubmission."""
        allowed = {OrderStatus.ACCEPTED, OrderStatus.IN_PROGRESS, OrderStatus.REJECTED}
        self._move(self.Submitted, allowed, at, voucher_id=voucher_id)

    def approve(self, at: datetime) -> None:
        """The owner accepts the work; the ledger settles the commission."""
        self._move(
            self.Approved,
            {OrderStatus.SUBMITTED},
            at,
            commission_minor=self.commission_minor,
            fee_minor=self.fee_minor,
            currency=self.currency,
        )

    def reject(self, reason: str, at: datetime) -> None:
        """The owner rejects the work with a reason; the provider may resubmit or dispute."""
        if not reason.strip():
            raise ReasonRequired("a rejection needs a reason")
        self._move(self.Rejected, {OrderStatus.SUBMITTED}, at, reason=reason)

    def dispute(self, at: datetime) -> None:
        """A party opened a dispute about the submitted or rejected work."""
        self._move(self.Disputed, {OrderStatus.SUBMITTED, OrderStatus.REJECTED}, at)

    def settle(self, at: datetime, paid_minor: int | None = None) -> None:
        """The commission reached the provider (after approval, or a dispute released it).

        ``paid_minor`` is what the provider received: the whole commission (the default), or
        its share after a dispute split. The ``Settled`` event records that amount, so figures
        built from ``order.settled`` add up to what providers were paid.

        Raises :class:`OrderAlreadySettled` on a second settlement, so a commission is never
        counted twice; the application turns that into a no-op for redelivered messages.
        """
        if self.is_settled:
            raise OrderAlreadySettled("the order is already settled")
        self._move(
            self.Settled,
            {OrderStatus.APPROVED, OrderStatus.DISPUTED},
            at,
            commission_minor=self.commission_minor if paid_minor is None else paid_minor,
            currency=self.currency,
        )

    def refund(self, at: datetime) -> None:
        """A dispute ended with the commission refunded to the owner."""
        self._move(self.Refunded, {OrderStatus.DISPUTED}, at)

    def withdraw_dispute(self, at: datetime) -> None:
        """The opener withdrew its dispute before resolution: the order returns to the status
        it had before the dispute (``submitted`` or ``rejected``), so the normal review or
        resubmission continues and no money stays in limbo."""
        if self.status is not OrderStatus.DISPUTED:
            raise IllegalTransition(f"the order is {self.status}, not disputed")
        self.trigger_event(
            self.DisputeWithdrawn,
            task_id=self.task_id,
            owner_id=self.owner_id,
            provider_id=self.provider_id,
            at=at,
            back_to=str(self.status_before_dispute),
        )

    @property
    def status_before_dispute(self) -> OrderStatus:
        """The status the order had when its (latest) dispute was opened."""
        history = self.history
        for step, previous in zip(reversed(history), reversed(history[:-1]), strict=False):
            if step.status is OrderStatus.DISPUTED and previous.status in RETURNABLE:
                return previous.status
        return OrderStatus.SUBMITTED

    def expire(self, at: datetime) -> None:
        """The deadline passed before the work was handed in."""
        if at < self.deadline:
            raise DeadlineNotReached("the order cannot expire before the task's deadline")
        self._move(self.Expired, WORKING, at)

    def cancel(self, at: datetime) -> None:
        """The provider withdraws before handing in the work."""
        allowed = {OrderStatus.APPLIED, OrderStatus.ACCEPTED, OrderStatus.IN_PROGRESS}
        self._move(self.Cancelled, allowed, at)

    def _move(
        self,
        step: type[Order.Step],
        allowed: set[OrderStatus] | frozenset[OrderStatus],
        at: datetime,
        **details: Any,
    ) -> None:
        if self.status not in allowed:
            raise IllegalTransition(f"cannot move an order from {self.status} to {step.STATUS}")
        self.trigger_event(
            step,
            task_id=self.task_id,
            owner_id=self.owner_id,
            provider_id=self.provider_id,
            at=at,
            **details,
        )


#: Events of :class:`Order.DisputeWithdrawn` recorded before the class moved here from
#: ``ring_task.disputes`` carry that module's topic; it still names this class.
register_topic("ring_task.disputes:DisputeWithdrawn", Order.DisputeWithdrawn)


def open_order(task: Task, provider_id: UUID, now: datetime) -> Order:
    """A provider takes a slot of ``task``: the new order, accepted at once unless the task
    requires the owner's approval. The caller saves ``task`` and the order together."""
    order = Order(
        task_id=task.id,
        owner_id=task.owner_id,
        provider_id=provider_id,
        deadline=task.deadline,
        commission_minor=task.commission_minor,
        fee_minor=task.fee_minor,
        currency=task.currency,
        at=now,
    )
    task.take_slot(order.id, provider_id, now)
    if not task.approval_required:
        order.accept(now)
    return order


# -- exceptions: each has a stable machine-readable ``code`` ---------------------------------


def board_owner(
    status: str | None, owner_id: UUID | None, actor_id: UUID, *, admin: bool
) -> UUID | None:
    """Whose tasks a board listing may show: ``None`` for everyone's, else that owner's.

    Everyone sees the published board; any other status (drafts, completed, cancelled…, or
    every status at once) is the owner's own business, so a non-admin sees only their own.

    Raises:
        TaskNotFound: a non-admin asked for another owner's unpublished tasks.
    """
    if admin or status == TaskStatus.PUBLISHED:
        return owner_id
    if owner_id not in (None, actor_id):
        raise TaskNotFound("another owner's tasks are listed only while published")
    return actor_id


#: Reviews an owner must have made before its rejection rate means anything.
MIN_REVIEWS_FOR_RATE = 10
#: An owner is flagged when its rejection rate is this many points above the others' rate...
REJECTION_MARGIN_PERCENT = 30
#: ...and at least this many times it (both must hold: "far above the norm").
REJECTION_FACTOR = 2


class ReviewRecord(NamedTuple):
    """How often one Party A approved and rejected handed-in work."""

    owner_id: UUID
    approvals: int
    rejections: int

    @property
    def reviews(self) -> int:
        """Decisions made."""
        return self.approvals + self.rejections


class RejectionOutlier(NamedTuple):
    """A Party A that rejects work far more often than the other owners do."""

    owner_id: UUID
    reviews: int
    rejections: int
    rejection_percent: int
    others_percent: int


def rejection_outliers(records: list[ReviewRecord]) -> list[RejectionOutlier]:
    """Owners whose rejection rate is far above the norm, highest rate first (decision 0017).

    The norm is the pooled rate of every *other* owner, so a single heavy rejecter does not
    raise its own bar. An owner needs :data:`MIN_REVIEWS_FOR_RATE` reviews, and its rate must
    be both :data:`REJECTION_MARGIN_PERCENT` points above and :data:`REJECTION_FACTOR` times
    the norm. Rejecting is a right of Party A (work may be poor); a flag asks an admin to look
    for an owner who rejects to get work without paying, it refuses nothing.
    """
    total_reviews = sum(r.reviews for r in records)
    total_rejections = sum(r.rejections for r in records)
    outliers: list[RejectionOutlier] = []
    for record in records:
        others_reviews = total_reviews - record.reviews
        if record.reviews < MIN_REVIEWS_FOR_RATE or others_reviews == 0:
            continue
        rate = record.rejections / record.reviews
        norm = (total_rejections - record.rejections) / others_reviews
        if rate * 100 >= norm * 100 + REJECTION_MARGIN_PERCENT and rate >= REJECTION_FACTOR * norm:
            outliers.append(
                RejectionOutlier(
                    owner_id=record.owner_id,
                    reviews=record.reviews,
                    rejections=record.rejections,
                    rejection_percent=round(rate * 100),
                    others_percent=round(norm * 100),
                )
            )
    return sorted(outliers, key=lambda o: (-o.rejection_percent, -o.reviews, str(o.owner_id)))


class TaskServiceError(Exception):
    """Base of every error a client of the task service can cause."""

    code: ClassVar[str] = "task_service_error"


class TaskNotFound(TaskServiceError):
    code = "task_not_found"


class OrderNotFound(TaskServiceError):
    code = "order_not_found"


class NotTaskOwner(TaskServiceError):
    code = "not_task_owner"


class NotOrderParty(TaskServiceError):
    code = "not_order_party"


class InvalidTaskDetails(TaskServiceError):
    code = "invalid_task_details"


class InvalidDeadline(TaskServiceError):
    code = "invalid_deadline"


class InvalidSlots(TaskServiceError):
    code = "invalid_slots"


class InvalidCommission(TaskServiceError):
    code = "invalid_commission"


class UnsupportedCurrency(TaskServiceError):
    code = "unsupported_currency"


class IllegalTransition(TaskServiceError):
    code = "illegal_transition"


class TaskNotOpen(TaskServiceError):
    code = "task_not_open"


class DeadlinePassed(TaskServiceError):
    code = "deadline_passed"


class DeadlineNotReached(TaskServiceError):
    code = "deadline_not_reached"


class NoSlotsLeft(TaskServiceError):
    code = "no_slots_left"


class OwnTask(TaskServiceError):
    code = "own_task"


class AlreadyHoldsSlot(TaskServiceError):
    code = "already_holds_slot"


class SlotNotHeld(TaskServiceError):
    code = "slot_not_held"


class OpenOrdersRemain(TaskServiceError):
    code = "open_orders_remain"


class InvalidProgress(TaskServiceError):
    code = "invalid_progress"


class ReasonRequired(TaskServiceError):
    code = "reason_required"


class OrderAlreadySettled(TaskServiceError):
    code = "order_already_settled"


class ProviderNotVerified(TaskServiceError):
    code = "provider_not_verified"


class ProviderSuspended(TaskServiceError):
    code = "provider_suspended"


class ProviderBlocked(TaskServiceError):
    code = "provider_blocked"
