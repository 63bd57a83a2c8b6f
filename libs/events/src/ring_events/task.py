"""Public events of the task context (topic ``ring.task.events``): tasks and their orders.

A task is Party A's pre-funded demand split into ``slots``; an order is one slot taken by a
Party B provider. Ids are UUIDs; money is integer minor units plus an ISO 4217 currency.
"""

from __future__ import annotations

from ring_events.base import (
    Currency,
    Id,
    Instant,
    IntegrationEvent,
    MinorUnits,
    Percent,
    PositiveCount,
)


class TaskCreated(IntegrationEvent, frozen=True, kw_only=True, tag="task.created.v1"):
    """Party A drafted a task; it is not on the board until published and funded."""

    task_id: Id
    owner_id: Id
    title: str
    description: str
    requirements: str
    acceptance_criteria: str
    deadline: Instant
    commission_minor: MinorUnits
    fee_minor: MinorUnits
    currency: Currency
    slots: PositiveCount
    required_skills: tuple[str, ...] = ()
    approval_required: bool = False


class TaskPublishRequested(
    IntegrationEvent, frozen=True, kw_only=True, tag="task.publish_requested.v1"
):
    """The owner asked to publish: the ledger must hold ``slots * (commission + fee)``."""

    task_id: Id
    owner_id: Id
    slots: PositiveCount
    commission_minor: MinorUnits
    fee_minor: MinorUnits
    currency: Currency


class TaskPublished(IntegrationEvent, frozen=True, kw_only=True, tag="task.published.v1"):
    """Escrow holds the commission: the task is on the board and orders may be taken."""

    task_id: Id
    owner_id: Id
    title: str
    deadline: Instant
    commission_minor: MinorUnits
    currency: Currency
    slots: PositiveCount
    required_skills: tuple[str, ...] = ()


class TaskFundingFailed(IntegrationEvent, frozen=True, kw_only=True, tag="task.funding_failed.v1"):
    """The ledger could not hold the commission; the owner may top up and publish again."""

    task_id: Id
    owner_id: Id
    reason: str


class TaskCancelled(IntegrationEvent, frozen=True, kw_only=True, tag="task.cancelled.v1"):
    """The owner withdrew the task; unused escrow is refunded."""

    task_id: Id
    owner_id: Id


class TaskExpired(IntegrationEvent, frozen=True, kw_only=True, tag="task.expired.v1"):
    """The deadline passed: no new orders; open orders run to their end."""

    task_id: Id
    owner_id: Id


class TaskCompleted(IntegrationEvent, frozen=True, kw_only=True, tag="task.completed.v1"):
    """No order is open any more; unused escrow is refunded."""

    task_id: Id
    owner_id: Id
    settled_slots: int


class OrderEvent(IntegrationEvent, frozen=True, kw_only=True):
    """Fields every order event carries: the order and both parties. Not a message itself."""

    order_id: Id
    task_id: Id
    owner_id: Id
    provider_id: Id


class OrderApplied(OrderEvent, frozen=True, kw_only=True, tag="order.applied.v1"):
    """A provider took a slot; the owner must approve when the task requires it."""


class OrderAccepted(OrderEvent, frozen=True, kw_only=True, tag="order.accepted.v1"):
    """The provider may start work."""


class OrderDeclined(OrderEvent, frozen=True, kw_only=True, tag="order.declined.v1"):
    """The owner turned the application down; the slot is free again."""

    reason: str = ""


class OrderProgressed(OrderEvent, frozen=True, kw_only=True, tag="order.progressed.v1"):
    """The provider reported progress."""

    percent: Percent
    note: str = ""


class OrderSubmitted(OrderEvent, frozen=True, kw_only=True, tag="order.submitted.v1"):
    """The provider handed in a voucher (proof of completion) for review."""

    voucher_id: Id | None = None


class OrderApproved(OrderEvent, frozen=True, kw_only=True, tag="order.approved.v1"):
    """The owner accepted the work: settle ``commission_minor`` to the provider, fee to Ring."""

    commission_minor: MinorUnits
    fee_minor: MinorUnits
    currency: Currency


class OrderRejected(OrderEvent, frozen=True, kw_only=True, tag="order.rejected.v1"):
    """The owner rejected the voucher; the provider may resubmit or open a dispute."""

    reason: str


class OrderSettled(OrderEvent, frozen=True, kw_only=True, tag="order.settled.v1"):
    """The commission reached the provider: the order is done.

    ``commission_minor`` is what the provider received: the task's commission, or the
    provider's share of it when a dispute ended in a split (60 % of 10 000 settles 6 000).
    """

    commission_minor: MinorUnits
    currency: Currency


class OrderExpired(OrderEvent, frozen=True, kw_only=True, tag="order.expired.v1"):
    """The deadline passed before the work was handed in; the slot is released."""


class OrderCancelled(OrderEvent, frozen=True, kw_only=True, tag="order.cancelled.v1"):
    """The provider withdrew before handing in; the slot is released."""


#: Every message on ``ring.task.events``.
TaskEvent = (
    TaskCreated
    | TaskPublishRequested
    | TaskPublished
    | TaskFundingFailed
    | TaskCancelled
    | TaskExpired
    | TaskCompleted
    | OrderApplied
    | OrderAccepted
    | OrderDeclined
    | OrderProgressed
    | OrderSubmitted
    | OrderApproved
    | OrderRejected
    | OrderSettled
    | OrderExpired
    | OrderCancelled
)
