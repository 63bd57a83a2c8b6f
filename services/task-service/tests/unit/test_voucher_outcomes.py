"""Voucher outcomes applied to orders: idempotent system commands driven by ring.voucher.events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID, uuid4

import pytest

from ring_task.application import Tasks
from ring_task.domain import NotOrderParty, OrderStatus


@pytest.fixture
def order_id(app: Tasks, published: Callable[..., UUID], provider: UUID, now: datetime) -> UUID:
    return app.take_order(published(), provider, now=now).id


def test_a_submitted_voucher_submits_the_order_once(
    app: Tasks, order_id: UUID, provider: UUID, now: datetime
) -> None:
    voucher = uuid4()
    app.record_voucher_submitted(order_id, provider, voucher, now=now)
    app.record_voucher_submitted(order_id, provider, voucher, now=now)
    order = app.get_order(order_id)
    assert order.status is OrderStatus.SUBMITTED
    assert order.voucher_id == voucher
    assert [s.status for s in order.history].count(OrderStatus.SUBMITTED) == 1


def test_only_the_provider_named_in_the_event_submits(
    app: Tasks, order_id: UUID, now: datetime
) -> None:
    with pytest.raises(NotOrderParty):
        app.record_voucher_submitted(order_id, uuid4(), uuid4(), now=now)


def test_an_approved_voucher_approves_the_order_once(
    app: Tasks, order_id: UUID, owner: UUID, provider: UUID, now: datetime
) -> None:
    app.record_voucher_submitted(order_id, provider, uuid4(), now=now)
    app.record_voucher_approved(order_id, owner, now=now)
    app.record_voucher_approved(order_id, owner, now=now)
    order = app.get_order(order_id)
    assert order.status is OrderStatus.APPROVED
    assert [s.status for s in order.history].count(OrderStatus.APPROVED) == 1


def test_a_rejection_applies_only_to_the_voucher_under_review(
    app: Tasks, order_id: UUID, owner: UUID, provider: UUID, now: datetime
) -> None:
    first, second = uuid4(), uuid4()
    app.record_voucher_submitted(order_id, provider, first, now=now)
    app.record_voucher_rejected(order_id, owner, first, "blurry", now=now)
    app.record_voucher_rejected(order_id, owner, first, "blurry", now=now)
    assert app.get_order(order_id).status is OrderStatus.REJECTED
    app.record_voucher_submitted(order_id, provider, second, now=now)
    app.record_voucher_rejected(order_id, owner, first, "stale", now=now)
    order = app.get_order(order_id)
    assert order.status is OrderStatus.SUBMITTED
    assert order.voucher_id == second
