"""Ledger outcomes applied to tasks: settlement completes a task once every slot is used."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from ring_events.ledger import FundsRejected
from ring_task.application import Tasks
from ring_task.consumers.ledger import funding_failure_reason
from ring_task.domain import OrderStatus, TaskStatus


def _approved_order(app: Tasks, task_id: UUID, owner: UUID, now: datetime) -> UUID:
    provider = uuid4()
    order_id = app.take_order(task_id, provider, now=now).id
    app.submit_voucher(order_id, provider, now=now)
    app.approve_order(order_id, owner, now=now)
    return order_id


def test_last_settlement_completes_the_task_once(
    app: Tasks, owner: UUID, published: Callable[..., UUID], now: datetime
) -> None:
    task_id = published(slots=2)
    first, second = (_approved_order(app, task_id, owner, now) for _ in range(2))
    app.record_settlement(first, now=now)
    assert app.get_task(task_id).status is TaskStatus.PUBLISHED
    app.record_settlement(second, now=now)
    app.record_settlement(second, now=now)  # redelivered: no effect
    task = app.get_task(task_id)
    assert task.status is TaskStatus.COMPLETED
    assert task.settled_orders == [first, second]
    assert app.get_order(second).status is OrderStatus.SETTLED


def test_settlement_leaves_a_task_with_free_slots_open(
    app: Tasks, owner: UUID, published: Callable[..., UUID], now: datetime
) -> None:
    task_id = published(slots=3)
    app.record_settlement(_approved_order(app, task_id, owner, now), now=now)
    task = app.get_task(task_id)
    assert (task.status, task.slots_left) == (TaskStatus.PUBLISHED, 2)


def test_settlement_of_the_last_open_order_completes_an_expired_task(
    app: Tasks,
    owner: UUID,
    published: Callable[..., UUID],
    now: datetime,
    deadline: datetime,
) -> None:
    task_id = published(slots=3)
    order_id = _approved_order(app, task_id, owner, now)
    app.expire_task(task_id, now=deadline + timedelta(seconds=1))
    app.record_settlement(order_id, now=deadline + timedelta(seconds=2))
    assert app.get_task(task_id).status is TaskStatus.COMPLETED


def test_funding_failure_reason_names_the_shortfall(now: datetime) -> None:
    event = FundsRejected(
        task_id=uuid4(),
        owner_id=uuid4(),
        required_minor=21_000,
        available_minor=5_000,
        shortfall_minor=16_000,
        currency="CNY",
        occurred_at=now,
    )
    assert funding_failure_reason(event) == (
        "insufficient funds: 21000 CNY needed, 5000 available, shortfall 16000"
    )
