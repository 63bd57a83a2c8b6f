"""Dispute rules on the in-memory event store, with a hand-made order directory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from ring_dispute.application import Disputes
from ring_dispute.config import DisputeConfig
from ring_dispute.domain import (
    DisputeAlreadyOpen,
    DisputeNotFound,
    DisputeStatus,
    IllegalTransition,
    InvalidOutcome,
    NotOpener,
    NotRespondent,
    OrderNotDisputable,
    OrderNotFound,
    provider_share,
)
from ring_dispute.projections import OrderView
from ring_runtime.timers import ManualClock

START = datetime(2030, 1, 1, 12, tzinfo=UTC)


class Directory:
    def __init__(self) -> None:
        self.orders: dict[UUID, OrderView] = {}

    def get(self, order_id: UUID) -> OrderView | None:
        return self.orders.get(order_id)

    def add(self, owner: UUID, provider: UUID, status: str = "submitted") -> UUID:
        order_id = uuid4()
        self.orders[order_id] = OrderView(
            order_id=order_id,
            task_id=uuid4(),
            owner_id=owner,
            provider_id=provider,
            status=status,
            history=[],
        )
        return order_id


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def directory() -> Directory:
    return Directory()


@pytest.fixture
def app(directory: Directory, clock: ManualClock) -> Disputes:
    return Disputes(
        {"PERSISTENCE_MODULE": "eventsourcing.popo"},
        orders=directory,
        config=DisputeConfig(),
        clock=clock,
    )


def test_split_needs_1_to_99_and_release_refund_are_fixed() -> None:
    assert (provider_share("release", None), provider_share("refund", None)) == (100, 0)
    assert provider_share("split", 1) == 1
    for outcome, share in [("split", None), ("split", 0), ("split", 100), ("refund", 50)]:
        with pytest.raises(InvalidOutcome):
            provider_share(outcome, share)
    with pytest.raises(InvalidOutcome):
        provider_share("coin_flip", None)


def test_life_of_a_case(app: Disputes, directory: Directory, clock: ManualClock) -> None:
    owner, provider, admin = uuid4(), uuid4(), uuid4()
    order_id = directory.add(owner, provider, "rejected")
    with pytest.raises(OrderNotFound):
        app.open_dispute(order_id, uuid4(), "quality", "outsider")
    dispute_id = app.open_dispute(order_id, provider, "unfair_rejection", "it is done")
    with pytest.raises(DisputeAlreadyOpen):
        app.open_dispute(order_id, owner, "quality", "me too")
    with pytest.raises(DisputeNotFound):
        app.get_dispute_for(dispute_id, uuid4())
    with pytest.raises(NotRespondent):
        app.respond(dispute_id, provider, "answering myself")
    with pytest.raises(IllegalTransition):
        app.request_arbitration(dispute_id, provider)
    clock.advance(timedelta(days=1))
    app.respond(dispute_id, owner, "40 images missing")
    app.add_evidence(dispute_id, owner, "screenshot", "0" * 64)
    with pytest.raises(IllegalTransition):
        app.escalate_at_deadline(dispute_id)  # before the deadline
    with pytest.raises(NotOpener):
        app.withdraw(dispute_id, owner)
    clock.advance(timedelta(days=4))
    app.escalate_at_deadline(dispute_id)
    app.escalate_at_deadline(dispute_id)  # a timer firing twice changes nothing
    dispute = app.get_dispute(dispute_id)
    assert dispute.status is DisputeStatus.ARBITRATION
    assert dispute.arbitration_due == START + timedelta(days=8)
    assert not dispute.is_overdue(clock.now())
    assert dispute.is_overdue(START + timedelta(days=8, seconds=1))
    app.resolve(dispute_id, admin, "split", 25)
    with pytest.raises(IllegalTransition):
        app.resolve(dispute_id, admin, "release")
    with pytest.raises(OrderNotDisputable):
        app.open_dispute(order_id, owner, "quality", "again")
    dispute = app.get_dispute(dispute_id)
    assert (dispute.outcome, dispute.provider_share_percent, dispute.resolved_by) == (
        "split",
        25,
        admin,
    )


def test_withdrawn_dispute_frees_the_order(app: Disputes, directory: Directory) -> None:
    owner, provider = uuid4(), uuid4()
    order_id = directory.add(owner, provider)
    first = app.open_dispute(order_id, owner, "quality", "not what we asked for")
    app.withdraw(first, owner)
    with pytest.raises(IllegalTransition):
        app.add_evidence(first, owner, "late", None)
    second = app.open_dispute(order_id, provider, "other", "let us talk")
    assert second != first
    working = directory.add(owner, provider, "in_progress")
    with pytest.raises(OrderNotDisputable):
        app.open_dispute(working, owner, "quality", "too early")
