"""Order lifecycle and slot accounting, through the application on the in-memory store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pytest

from ring_task.application import Tasks
from ring_task.domain import (
    AlreadyHoldsSlot,
    DeadlineNotReached,
    DeadlinePassed,
    IllegalTransition,
    InvalidProgress,
    NoSlotsLeft,
    NotOrderParty,
    OrderNotFound,
    OrderStatus,
    OwnTask,
    ReasonRequired,
    TaskNotOpen,
    TaskStatus,
)


def test_take_order_accepts_at_once_without_approval(
    app: Tasks, provider: UUID, published: Callable[..., UUID], now: datetime
) -> None:
    task_id = published()
    order = app.get_order(app.take_order(task_id, provider, now=now).id)
    assert order.status is OrderStatus.ACCEPTED
    assert [step.status for step in order.history] == [OrderStatus.APPLIED, OrderStatus.ACCEPTED]
    assert (order.task_id, order.provider_id, order.fee_minor) == (task_id, provider, 500)
    assert app.get_task(task_id).slots_left == 2


def test_application_waits_for_the_owner_when_approval_is_required(
    app: Tasks, owner: UUID, provider: UUID, published: Callable[..., UUID], now: datetime
) -> None:
    task_id = published(approval_required=True)
    order_id = app.take_order(task_id, provider, now=now).id
    assert app.get_order(order_id).status is OrderStatus.APPLIED
    with pytest.raises(NotOrderParty):
        app.approve_application(order_id, provider, now=now)
    app.approve_application(order_id, owner, now=now)
    assert app.get_order(order_id).status is OrderStatus.ACCEPTED


def test_declined_application_frees_the_slot(
    app: Tasks, owner: UUID, provider: UUID, published: Callable[..., UUID], now: datetime
) -> None:
    task_id = published(approval_required=True, slots=1)
    order_id = app.take_order(task_id, provider, now=now).id
    assert app.get_task(task_id).slots_left == 0
    app.decline_application(order_id, owner, "not qualified", now=now)
    order = app.get_order(order_id)
    assert order.status is OrderStatus.DECLINED
    assert order.history[-1].note == "not qualified"
    assert app.get_task(task_id).slots_left == 1


def test_happy_path_to_settlement_and_completion(
    app: Tasks, owner: UUID, provider: UUID, published: Callable[..., UUID], now: datetime
) -> None:
    task_id = published(slots=1)
    order_id = app.take_order(task_id, provider, now=now).id
    app.report_progress(order_id, provider, 40, "halfway-ish", now=now)
    voucher_id = uuid4()
    app.submit_voucher(order_id, provider, voucher_id, now=now)
    app.reject_order(order_id, owner, "blurry photos", now=now)
    app.submit_voucher(order_id, provider, voucher_id, now=now)  # resubmission
    app.approve_order(order_id, owner, now=now)
    app.mark_order_settled(order_id, now=now)
    app.mark_order_settled(order_id, now=now)  # redelivered: no-op
    order = app.get_order(order_id)
    assert order.is_settled
    assert order.voucher_id == voucher_id
    assert order.percent == 40
    assert [step.status for step in order.history] == [
        OrderStatus.APPLIED,
        OrderStatus.ACCEPTED,
        OrderStatus.IN_PROGRESS,
        OrderStatus.SUBMITTED,
        OrderStatus.REJECTED,
        OrderStatus.SUBMITTED,
        OrderStatus.APPROVED,
        OrderStatus.SETTLED,
    ]
    assert order.history[2].note == "40% halfway-ish"
    app.complete_task(task_id, now=now)
    task = app.get_task(task_id)
    assert task.status is TaskStatus.COMPLETED
    assert task.settled_orders == [order_id]


def test_domain_refuses_a_second_settlement(
    app: Tasks, owner: UUID, provider: UUID, published: Callable[..., UUID], now: datetime
) -> None:
    from ring_task.domain import OrderAlreadySettled

    order_id = app.take_order(published(), provider, now=now).id
    app.submit_voucher(order_id, provider, None, now=now)
    app.approve_order(order_id, owner, now=now)
    app.mark_order_settled(order_id, now=now)
    with pytest.raises(OrderAlreadySettled):
        app.get_order(order_id).settle(now)


def test_dispute_then_refund_retires_the_slot(
    app: Tasks, owner: UUID, provider: UUID, published: Callable[..., UUID], now: datetime
) -> None:
    task_id = published(slots=1)
    order_id = app.take_order(task_id, provider, now=now).id
    app.submit_voucher(order_id, provider, None, now=now)
    app.reject_order(order_id, owner, "incomplete", now=now)
    app.mark_order_disputed(order_id, now=now)
    app.mark_order_refunded(order_id, now=now)
    app.mark_order_refunded(order_id, now=now)  # redelivered: no-op
    assert app.get_order(order_id).status is OrderStatus.REFUNDED
    task = app.get_task(task_id)
    assert (task.slots_left, task.open_orders) == (0, {})
    app.complete_task(task_id, now=now)


def test_only_the_right_party_acts(
    app: Tasks, owner: UUID, provider: UUID, published: Callable[..., UUID], now: datetime
) -> None:
    order_id = app.take_order(published(), provider, now=now).id
    with pytest.raises(NotOrderParty):
        app.report_progress(order_id, owner, 10, now=now)
    with pytest.raises(NotOrderParty):
        app.submit_voucher(order_id, uuid4(), None, now=now)
    app.submit_voucher(order_id, provider, None, now=now)
    with pytest.raises(NotOrderParty):
        app.approve_order(order_id, provider, now=now)
    with pytest.raises(NotOrderParty):
        app.reject_order(order_id, provider, "no", now=now)


def test_order_rules(
    app: Tasks, owner: UUID, provider: UUID, published: Callable[..., UUID], now: datetime
) -> None:
    order_id = app.take_order(published(), provider, now=now).id
    with pytest.raises(InvalidProgress):
        app.report_progress(order_id, provider, 101, now=now)
    with pytest.raises(IllegalTransition):
        app.approve_order(order_id, owner, now=now)  # nothing submitted
    app.submit_voucher(order_id, provider, None, now=now)
    with pytest.raises(ReasonRequired):
        app.reject_order(order_id, owner, " ", now=now)
    with pytest.raises(IllegalTransition):
        app.cancel_order(order_id, provider, now=now)  # already handed in
    with pytest.raises(OrderNotFound):
        app.get_order(uuid4())


def test_slots_are_refused_when_the_task_is_not_open(
    app: Tasks,
    owner: UUID,
    provider: UUID,
    draft: Callable[..., UUID],
    published: Callable[..., UUID],
    now: datetime,
    deadline: datetime,
) -> None:
    with pytest.raises(TaskNotOpen):
        app.take_order(draft(), provider, now=now)
    task_id = published(slots=2)
    with pytest.raises(OwnTask):
        app.take_order(task_id, owner, now=now)
    with pytest.raises(DeadlinePassed):
        app.take_order(task_id, provider, now=deadline)
    app.take_order(task_id, provider, now=now)
    with pytest.raises(AlreadyHoldsSlot):
        app.take_order(task_id, provider, now=now)
    app.take_order(task_id, uuid4(), now=now)
    with pytest.raises(NoSlotsLeft):
        app.take_order(task_id, uuid4(), now=now)


def test_expired_order_frees_its_slot(
    app: Tasks, provider: UUID, published: Callable[..., UUID], now: datetime, deadline: datetime
) -> None:
    task_id = published(slots=1)
    order_id = app.take_order(task_id, provider, now=now).id
    with pytest.raises(DeadlineNotReached):
        app.expire_order(order_id, now=deadline - timedelta(seconds=1))
    app.expire_order(order_id, now=deadline)
    app.expire_order(order_id, now=deadline)  # timer fired twice: no-op
    assert app.get_order(order_id).status is OrderStatus.EXPIRED
    assert app.get_task(task_id).slots_left == 1
