"""Which private domain events the task service publishes, and as which public events.

The mapping is by domain event class: a class is always published or never. Slot accounting
(``Task.SlotTaken`` …) and the dispute steps of an order are private, so they are absent.
The outbox relay uses :data:`TOPIC` and :data:`DOMAIN_TO_PUBLIC`.
"""

from __future__ import annotations

from typing import TypedDict
from uuid import UUID

from ring_events import task as public
from ring_events.base import IntegrationEvent
from ring_events.topics import TASK_EVENTS
from ring_runtime.relay import Translation
from ring_task.domain import Order, Task

#: The topic the task service publishes to.
TOPIC = TASK_EVENTS


def _task_created(e: Task.Created) -> public.TaskCreated:
    return public.TaskCreated(
        task_id=e.originator_id,
        owner_id=e.owner_id,
        title=e.title,
        description=e.description,
        requirements=e.requirements,
        acceptance_criteria=e.acceptance_criteria,
        deadline=e.deadline,
        commission_minor=e.commission_minor,
        fee_minor=e.fee_minor,
        currency=e.currency,
        slots=e.slots,
        required_skills=tuple(e.required_skills),
        approval_required=e.approval_required,
        occurred_at=e.at,
    )


def _publish_requested(e: Task.PublishRequested) -> public.TaskPublishRequested:
    return public.TaskPublishRequested(
        task_id=e.originator_id,
        owner_id=e.owner_id,
        slots=e.slots,
        commission_minor=e.commission_minor,
        fee_minor=e.fee_minor,
        currency=e.currency,
        occurred_at=e.at,
    )


def _published(e: Task.Published) -> public.TaskPublished:
    return public.TaskPublished(
        task_id=e.originator_id,
        owner_id=e.owner_id,
        title=e.title,
        deadline=e.deadline,
        commission_minor=e.commission_minor,
        currency=e.currency,
        slots=e.slots,
        required_skills=tuple(e.required_skills),
        occurred_at=e.at,
    )


def _funding_failed(e: Task.FundingFailed) -> public.TaskFundingFailed:
    return public.TaskFundingFailed(
        task_id=e.originator_id, owner_id=e.owner_id, reason=e.reason, occurred_at=e.at
    )


def _task_cancelled(e: Task.Cancelled) -> public.TaskCancelled:
    return public.TaskCancelled(task_id=e.originator_id, owner_id=e.owner_id, occurred_at=e.at)


def _task_expired(e: Task.Expired) -> public.TaskExpired:
    return public.TaskExpired(task_id=e.originator_id, owner_id=e.owner_id, occurred_at=e.at)


def _task_completed(e: Task.Completed) -> public.TaskCompleted:
    return public.TaskCompleted(
        task_id=e.originator_id,
        owner_id=e.owner_id,
        settled_slots=e.settled_slots,
        occurred_at=e.at,
    )


def _order_applied(e: Order.Applied) -> public.OrderApplied:
    return public.OrderApplied(**_parties(e), occurred_at=e.at)


def _order_accepted(e: Order.Accepted) -> public.OrderAccepted:
    return public.OrderAccepted(**_parties(e), occurred_at=e.at)


def _order_declined(e: Order.Declined) -> public.OrderDeclined:
    return public.OrderDeclined(**_parties(e), reason=e.reason, occurred_at=e.at)


def _order_progressed(e: Order.Progressed) -> public.OrderProgressed:
    return public.OrderProgressed(
        **_parties(e), percent=e.percent, note=e.progress_note, occurred_at=e.at
    )


def _order_submitted(e: Order.Submitted) -> public.OrderSubmitted:
    return public.OrderSubmitted(**_parties(e), voucher_id=e.voucher_id, occurred_at=e.at)


def _order_approved(e: Order.Approved) -> public.OrderApproved:
    return public.OrderApproved(
        **_parties(e),
        commission_minor=e.commission_minor,
        fee_minor=e.fee_minor,
        currency=e.currency,
        occurred_at=e.at,
    )


def _order_rejected(e: Order.Rejected) -> public.OrderRejected:
    return public.OrderRejected(**_parties(e), reason=e.reason, occurred_at=e.at)


def _order_settled(e: Order.Settled) -> public.OrderSettled:
    return public.OrderSettled(
        **_parties(e), commission_minor=e.commission_minor, currency=e.currency, occurred_at=e.at
    )


def _order_expired(e: Order.Expired) -> public.OrderExpired:
    return public.OrderExpired(**_parties(e), occurred_at=e.at)


def _order_cancelled(e: Order.Cancelled) -> public.OrderCancelled:
    return public.OrderCancelled(**_parties(e), occurred_at=e.at)


class _Parties(TypedDict):
    order_id: UUID
    task_id: UUID
    owner_id: UUID
    provider_id: UUID


def _parties(e: Order.Applied | Order.Step) -> _Parties:
    return {
        "order_id": e.originator_id,
        "task_id": e.task_id,
        "owner_id": e.owner_id,
        "provider_id": e.provider_id,
    }


#: Published domain event class → the function building its public event.
DOMAIN_TO_PUBLIC: dict[type[object], Translation] = {
    Task.Created: _task_created,
    Task.PublishRequested: _publish_requested,
    Task.Published: _published,
    Task.FundingFailed: _funding_failed,
    Task.Cancelled: _task_cancelled,
    Task.Expired: _task_expired,
    Task.Completed: _task_completed,
    Order.Applied: _order_applied,
    Order.Accepted: _order_accepted,
    Order.Declined: _order_declined,
    Order.Progressed: _order_progressed,
    Order.Submitted: _order_submitted,
    Order.Approved: _order_approved,
    Order.Rejected: _order_rejected,
    Order.Settled: _order_settled,
    Order.Expired: _order_expired,
    Order.Cancelled: _order_cancelled,
}


def to_public(domain_event: object) -> IntegrationEvent | None:
    """The public event for ``domain_event``, or ``None`` when its class is private."""
    translate = DOMAIN_TO_PUBLIC.get(type(domain_event))
    return translate(domain_event) if translate else None
