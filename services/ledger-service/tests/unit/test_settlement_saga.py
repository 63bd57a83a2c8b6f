"""SettlementSaga steps on the in-memory store: each step once, postings in the same save."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from ring_events.ledger import (
    CommissionSettled,
    EscrowRefunded,
    FundsDeposited,
    FundsRejected,
    FundsReserved,
)
from ring_ledger.application import Ledger
from ring_ledger.domain import (
    IllegalSagaStep,
    NoOpenSlot,
    OrderOutcome,
    Rejected,
    Reserved,
    SagaState,
)
from ring_ledger.integration import to_public
from ring_ledger.settlement import SettlementTermsMismatch

A = UUID("5f1d2c4b-8e7a-4b3c-9d2e-1a0b9c8d7e6f")
B = UUID("3a4b5c6d-7e8f-4a0b-8c2d-3e4f5a6b7c8d")
T = UUID("0b9c6a3e-3f44-4c5e-9a61-2f0c1f6a7a01")
T0 = UUID("0b9c6a3e-3f44-4c5e-9a61-2f0c1f6a7a00")
ORDER = UUID("7c2e9f1a-4b3d-4e5f-8a6b-9c0d1e2f3a4b")
O1, O2, O3 = UUID(int=1), UUID(int=2), UUID(int=3)


def published_events(ledger: Ledger, since: int) -> list[object]:
    """Public events the relay would publish for notifications after ``since``."""
    notifications = ledger.recorder.select_notifications(since + 1, 1000)
    events = (ledger.mapper.to_domain_event(n) for n in notifications)
    return [p for p in map(to_public, events) if p is not None]


def test_rejected_then_reserved_after_top_up(ledger: Ledger) -> None:
    ledger.create_deposit(A, 5_000, "CNY", "d1")
    assert ledger.request_funding(T, A, 2, 10_000, 500, "CNY") == Rejected(str(T), 16_000, "CNY")
    saga = ledger.get_saga(T)
    assert saga is not None
    assert saga.state is SagaState.REJECTED
    assert ledger.balances(A, "CNY").available_minor == 5_000  # nothing held
    before = ledger.recorder.max_notification_id()
    assert before is not None  # the first deposit is stored
    ledger.create_deposit(A, 16_000, "CNY", "d2")
    reserved = ledger.request_funding(T, A, 2, 10_000, 500, "CNY")
    assert isinstance(reserved, Reserved)
    assert ledger.request_funding(T, A, 2, 10_000, 500, "CNY") is None  # stale request
    saga = ledger.get_saga(T)
    assert saga is not None
    assert (saga.state, saga.attempts) == (SagaState.RESERVED, 2)
    [event] = [e for e in published_events(ledger, before) if isinstance(e, FundsReserved)]
    assert (event.amount_minor, event.slots, event.owner_id) == (21_000, 2, A)
    assert ledger.check() == []


def test_settle_commission_once_and_release_the_rest_on_task_end(ledger: Ledger) -> None:
    ledger.create_deposit(A, 40_000, "CNY", "d")
    ledger.request_funding(T, A, 3, 10_000, 500, "CNY")
    first = ledger.settle_commission(T, O1, B, 10_000, 500)
    assert ledger.settle_commission(T, O1, B, 10_000, 500) == first  # redelivered
    with pytest.raises(SettlementTermsMismatch):
        ledger.settle_commission(T, O2, B, 9_000, 500)
    assert ledger.balances(B, "CNY").available_minor == 10_000
    saga = ledger.get_saga(T)
    assert saga is not None
    assert saga.outcome(str(O1)) is OrderOutcome.SETTLED
    release = ledger.release_unused_escrow(T, "task-cancelled")
    assert release is not None
    assert (release.slots, release.refund_minor) == (2, 21_000)
    assert ledger.release_unused_escrow(T, "task-cancelled") is None  # closed
    assert ledger.balances(A, "CNY").available_minor == 40_000 - 10_500
    with pytest.raises(NoOpenSlot):  # the task ended: nothing left to pay from
        ledger.settle_commission(T, O3, B, 10_000, 500)
    with pytest.raises(IllegalSagaStep):
        ledger.settle_commission(uuid4(), O1, B, 10_000, 500)
    assert ledger.check() == []


def test_dispute_outcome_hook_splits_one_slot(ledger: Ledger) -> None:
    ledger.create_deposit(A, 10_500, "CNY", "d")
    ledger.request_funding(T, A, 1, 10_000, 500, "CNY")
    result = ledger.execute_dispute_outcome(T, O1, B, 40)
    assert (result.provider_minor, result.fee_minor, result.refund_minor) == (4_000, 200, 6_300)
    saga = ledger.get_saga(T)
    assert saga is not None
    assert saga.outcome(str(O1)) is OrderOutcome.RESOLVED
    assert ledger.check() == []


def test_task_end_without_funding_closes_without_refund(ledger: Ledger) -> None:
    assert ledger.release_unused_escrow(uuid4(), "task-cancelled") is None
    ledger.request_funding(T, A, 1, 100, 5, "CNY")  # rejected: A has nothing
    assert ledger.release_unused_escrow(T, "task-cancelled") is None
    saga = ledger.get_saga(T)
    assert saga is not None
    assert saga.state is SagaState.CLOSED


def test_saga_steps_become_public_events(ledger: Ledger) -> None:
    ledger.request_funding(T0, A, 1, 100, 5, "CNY")
    ledger.create_deposit(A, 300, "CNY", "d")
    ledger.request_funding(T, A, 2, 100, 5, "CNY")
    ledger.settle_commission(T, ORDER, B, 100, 5)
    ledger.release_unused_escrow(T, "task-completed")
    kinds = [type(e) for e in published_events(ledger, 0)]
    assert kinds == [
        FundsRejected,
        FundsDeposited,
        FundsReserved,
        CommissionSettled,
        EscrowRefunded,
    ]
