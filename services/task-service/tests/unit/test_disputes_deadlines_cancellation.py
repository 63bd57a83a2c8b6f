"""Issue 6 in the task service: dispute steps, deadline commands and cancellation rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from ring_events.task import OrderSettled
from ring_task.application import Tasks
from ring_task.domain import NotTaskOwner, Order, OrderStatus, TaskStatus
from ring_task.domain.cancellation import SubmittedWorkPending
from ring_task.integration import to_public

from .conftest import DEADLINE, NOW

LATER = NOW + timedelta(hours=1)


def _submitted(app: Tasks, task_id: UUID, provider: UUID) -> UUID:
    order_id = app.take_order(task_id, provider, now=NOW).id
    app.submit_voucher(order_id, provider, now=NOW)
    return order_id


def test_dispute_opened_then_withdrawn_returns_the_order(
    app: Tasks, owner: UUID, provider: UUID, published: Callable[..., UUID]
) -> None:
    task_id = published()
    order_id = _submitted(app, task_id, provider)
    app.reject_order(order_id, owner, "boxes missing", now=NOW)
    app.record_dispute_opened(order_id, now=LATER)
    app.record_dispute_opened(order_id, now=LATER)  # redelivery: no second step
    assert app.get_order(order_id).status is OrderStatus.DISPUTED
    app.record_dispute_withdrawn(order_id, now=LATER)
    app.record_dispute_withdrawn(order_id, now=LATER)
    order = app.get_order(order_id)
    assert order.status is OrderStatus.REJECTED
    assert [s.status for s in order.history][-3:] == [
        OrderStatus.REJECTED,
        OrderStatus.DISPUTED,
        OrderStatus.REJECTED,
    ]


@pytest.mark.parametrize(
    ("percent", "status"), [(100, OrderStatus.SETTLED), (40, OrderStatus.SETTLED), (0, "refunded")]
)
def test_dispute_outcome_settles_or_refunds_and_completes_the_task(
    app: Tasks, provider: UUID, published: Callable[..., UUID], percent: int, status: str
) -> None:
    task_id = published(slots=1)
    order_id = _submitted(app, task_id, provider)
    app.record_dispute_opened(order_id, now=LATER)
    app.record_dispute_outcome(order_id, percent, now=LATER)
    app.record_dispute_outcome(order_id, percent, now=LATER)  # redelivery
    assert app.get_order(order_id).status == status
    task = app.get_task(task_id)
    assert task.status is TaskStatus.COMPLETED
    assert task.open_orders == {}


def test_a_withdrawal_stored_before_its_class_moved_still_loads(
    app: Tasks, owner: UUID, provider: UUID, published: Callable[..., UUID]
) -> None:
    """``Order.DisputeWithdrawn`` was ``ring_task.disputes.DisputeWithdrawn``: events stored
    then carry the old topic, and the order must still load from them."""
    task_id = published()
    order_id = _submitted(app, task_id, provider)
    app.reject_order(order_id, owner, "boxes missing", now=NOW)
    app.record_dispute_opened(order_id, now=LATER)
    app.record_dispute_withdrawn(order_id, now=LATER)
    stored = app.recorder.select_events(order_id)[-1]
    assert stored.topic == "ring_task.domain:Order.DisputeWithdrawn"
    old = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic="ring_task.disputes:DisputeWithdrawn",
        state=stored.state,
    )
    withdrawn = app.mapper.to_domain_event(old)
    assert isinstance(withdrawn, Order.DisputeWithdrawn)
    assert withdrawn.back_to == OrderStatus.REJECTED


def test_outcome_before_the_opening_still_applies(
    app: Tasks, provider: UUID, published: Callable[..., UUID]
) -> None:
    task_id = published(slots=2)
    order_id = _submitted(app, task_id, provider)
    app.record_dispute_outcome(order_id, 0, now=LATER)
    app.record_dispute_opened(order_id, now=LATER)  # arrives late: no-op
    assert app.get_order(order_id).status is OrderStatus.REFUNDED
    assert app.get_task(task_id).status is TaskStatus.PUBLISHED


def test_deadline_expires_unsubmitted_orders_and_the_task(
    app: Tasks, provider: UUID, published: Callable[..., UUID]
) -> None:
    task_id = published(slots=2)
    working = app.take_order(task_id, provider, now=NOW).id
    handed_in = _submitted(app, task_id, uuid4())
    app.expire_order_when_due(working, now=DEADLINE - timedelta(seconds=1))  # too early
    assert app.get_order(working).status is OrderStatus.ACCEPTED
    app.expire_task_when_due(task_id, now=DEADLINE)
    app.expire_order_when_due(working, now=DEADLINE)
    app.expire_order_when_due(handed_in, now=DEADLINE)  # handed in: runs to its end
    assert app.get_order(working).status is OrderStatus.EXPIRED
    assert app.get_order(handed_in).status is OrderStatus.SUBMITTED
    assert app.get_task(task_id).status is TaskStatus.EXPIRED
    app.approve_order(handed_in, app.get_task(task_id).owner_id, now=DEADLINE)
    app.record_settlement(handed_in, now=DEADLINE)
    assert app.get_task(task_id).status is TaskStatus.COMPLETED


def test_task_without_orders_completes_at_its_deadline(
    app: Tasks, published: Callable[..., UUID]
) -> None:
    task_id = published()
    app.expire_task_when_due(task_id, now=DEADLINE)
    app.expire_task_when_due(task_id, now=DEADLINE)
    assert app.get_task(task_id).status is TaskStatus.COMPLETED


@pytest.mark.parametrize("state", ["none", "applied", "accepted", "in_progress"])
def test_cancellation_allowed_cancels_unsubmitted_orders(
    app: Tasks, owner: UUID, provider: UUID, published: Callable[..., UUID], state: str
) -> None:
    task_id = published(slots=3, approval_required=state == "applied")
    order_id = None
    if state != "none":
        order_id = app.take_order(task_id, provider, now=NOW).id
        if state == "in_progress":
            app.report_progress(order_id, provider, 50, now=NOW)
    with pytest.raises(NotTaskOwner):
        app.cancel(task_id, uuid4(), now=NOW)
    assert app.cancel(task_id, owner, now=NOW).cancelled_orders == (0 if order_id is None else 1)
    task = app.get_task(task_id)
    assert (task.status, task.open_orders) == (TaskStatus.CANCELLED, {})
    if order_id is not None:
        assert app.get_order(order_id).status is OrderStatus.CANCELLED


@pytest.mark.parametrize("state", ["submitted", "approved", "rejected", "disputed"])
def test_cancellation_refused_while_work_is_pending(
    app: Tasks, owner: UUID, provider: UUID, published: Callable[..., UUID], state: str
) -> None:
    task_id = published(slots=3)
    other = app.take_order(task_id, uuid4(), now=NOW).id
    order_id = _submitted(app, task_id, provider)
    if state == "approved":
        app.approve_order(order_id, owner, now=NOW)
    if state in ("rejected", "disputed"):
        app.reject_order(order_id, owner, "no", now=NOW)
    if state == "disputed":
        app.record_dispute_opened(order_id, now=NOW)
    with pytest.raises(SubmittedWorkPending) as refused:
        app.cancel(task_id, owner, now=NOW)
    assert refused.value.code == "submitted_work_pending"
    assert app.get_task(task_id).status is TaskStatus.PUBLISHED
    assert app.get_order(other).status is OrderStatus.ACCEPTED  # nothing changed


def test_a_split_settles_what_the_provider_received(
    app: Tasks, provider: UUID, published: Callable[..., UUID]
) -> None:
    """A 60/40 split of a 10 000 commission: ``order.settled`` says 6 000, not 10 000."""
    task_id = published(slots=1, commission_minor=10_000)
    order_id = _submitted(app, task_id, provider)
    app.record_dispute_opened(order_id, now=LATER)
    app.record_dispute_outcome(order_id, 60, now=LATER, paid_minor=6_000)
    public = [
        to_public(app.mapper.to_domain_event(notification))
        for notification in app.recorder.select_notifications(start=1, limit=1_000)
        if notification.originator_id == order_id
    ]
    assert [e.commission_minor for e in public if isinstance(e, OrderSettled)] == [6_000]
