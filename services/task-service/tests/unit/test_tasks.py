"""Task invariants and lifecycle, through the application on the in-memory store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from ring_task.application import Tasks
from ring_task.domain import (
    DeadlineNotReached,
    DeadlinePassed,
    IllegalTransition,
    InvalidCommission,
    InvalidDeadline,
    InvalidSlots,
    InvalidTaskDetails,
    NotTaskOwner,
    OrderStatus,
    TaskNotFound,
    TaskServiceError,
    TaskStatus,
    UnsupportedCurrency,
)

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)  # same instant as the conftest fixtures
DEADLINE = NOW + timedelta(days=7)


def test_create_task_records_terms_and_fee(
    app: Tasks, owner: UUID, draft: Callable[..., UUID]
) -> None:
    task = app.get_task(draft(required_skills=["python", " labeling ", "python", ""]))
    assert task.status is TaskStatus.DRAFT
    assert task.owner_id == owner
    assert task.fee_minor == 500
    assert task.slots_left == 3
    assert task.escrow_minor == 3 * 10_500
    assert task.required_skills == ("labeling", "python")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"deadline": NOW}, InvalidDeadline),
        ({"deadline": NOW - timedelta(seconds=1)}, InvalidDeadline),
        ({"deadline": DEADLINE.replace(tzinfo=None)}, InvalidDeadline),
        ({"slots": 0}, InvalidSlots),
        ({"slots": 1001}, InvalidSlots),
        ({"commission_minor": 0}, InvalidCommission),
        ({"commission_minor": -5}, InvalidCommission),
        ({"currency": "XXX"}, UnsupportedCurrency),
        ({"currency": "cny"}, UnsupportedCurrency),
        ({"title": "  "}, InvalidTaskDetails),
    ],
)
def test_invalid_terms_are_refused_and_nothing_is_saved(
    app: Tasks, draft: Callable[..., UUID], overrides: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        draft(**overrides)
    assert app.recorder.max_notification_id() in (None, 0)


def test_publish_goes_through_funding(app: Tasks, owner: UUID, draft: Callable[..., UUID]) -> None:
    task_id = draft()
    app.publish(task_id, owner, now=NOW)
    assert app.get_task(task_id).status is TaskStatus.FUNDING
    app.mark_funded(task_id, now=NOW)
    assert app.get_task(task_id).status is TaskStatus.PUBLISHED


def test_mark_funded_is_idempotent(app: Tasks, published: Callable[..., UUID]) -> None:
    task_id = published()
    version = app.get_task(task_id).version
    app.mark_funded(task_id, now=NOW)
    assert app.get_task(task_id).version == version


def test_funding_failure_allows_publishing_again(
    app: Tasks, owner: UUID, draft: Callable[..., UUID]
) -> None:
    task_id = draft()
    app.publish(task_id, owner, now=NOW)
    app.mark_funding_failed(task_id, "insufficient funds", now=NOW)
    app.mark_funding_failed(task_id, "insufficient funds", now=NOW)  # redelivery: no-op
    assert app.get_task(task_id).status is TaskStatus.FUNDING_FAILED
    app.publish(task_id, owner, now=NOW)
    assert app.get_task(task_id).status is TaskStatus.FUNDING


def test_only_the_owner_publishes_and_cancels(app: Tasks, draft: Callable[..., UUID]) -> None:
    task_id = draft()
    with pytest.raises(NotTaskOwner):
        app.publish(task_id, uuid4(), now=NOW)
    with pytest.raises(NotTaskOwner):
        app.cancel(task_id, uuid4(), now=NOW)


def test_illegal_transitions(app: Tasks, owner: UUID, draft: Callable[..., UUID]) -> None:
    task_id = draft()
    with pytest.raises(IllegalTransition):
        app.mark_funded(task_id, now=NOW)  # not funding
    app.publish(task_id, owner, now=NOW)
    with pytest.raises(IllegalTransition):
        app.publish(task_id, owner, now=NOW)  # already funding
    with pytest.raises(IllegalTransition):
        app.cancel(task_id, owner, now=NOW)  # funding undecided


def test_publish_after_deadline_is_refused(
    app: Tasks, owner: UUID, draft: Callable[..., UUID]
) -> None:
    task_id = draft()
    with pytest.raises(DeadlinePassed):
        app.publish(task_id, owner, now=DEADLINE)


def test_cancel_takes_unsubmitted_orders_with_it(
    app: Tasks, owner: UUID, provider: UUID, published: Callable[..., UUID]
) -> None:
    task_id = published()
    order_id = app.take_order(task_id, provider, now=NOW).id
    assert app.cancel(task_id, owner, now=NOW).cancelled_orders == 1
    assert app.get_task(task_id).status is TaskStatus.CANCELLED
    assert app.get_order(order_id).status is OrderStatus.CANCELLED


def test_expire_only_at_the_deadline_then_complete(
    app: Tasks, published: Callable[..., UUID]
) -> None:
    task_id = published()
    with pytest.raises(DeadlineNotReached):
        app.expire_task(task_id, now=NOW)
    with pytest.raises(IllegalTransition):
        app.complete_task(task_id, now=NOW)  # slots unused, not expired
    app.expire_task(task_id, now=DEADLINE)
    app.expire_task(task_id, now=DEADLINE)  # timer fired twice: no-op
    app.complete_task(task_id, now=DEADLINE)
    assert app.get_task(task_id).status is TaskStatus.COMPLETED


def test_unknown_task(app: Tasks, provider: UUID, published: Callable[..., UUID]) -> None:
    with pytest.raises(TaskNotFound):
        app.get_task(uuid4())
    order_id = app.take_order(published(), provider, now=NOW).id
    with pytest.raises(TaskNotFound):
        app.get_task(order_id)  # an order id is not a task id


def test_every_error_has_a_stable_code() -> None:
    import ring_task.domain as domain

    errors = [
        obj
        for obj in vars(domain).values()
        if isinstance(obj, type)
        and issubclass(obj, TaskServiceError)
        and obj is not TaskServiceError
    ]
    codes = [error.code for error in errors]
    assert len(errors) >= 20
    assert len(set(codes)) == len(codes)
    assert all(code.islower() and " " not in code for code in codes)
