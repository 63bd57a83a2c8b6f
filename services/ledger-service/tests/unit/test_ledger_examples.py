"""Example-based tests of the Ledger's money flows on the in-memory event store.

Every example drives the commands production runs (the saga's steps, deposits, payouts); the
posting rules those commands share are exercised directly in ``test_posting_rules.py``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from ring_ledger.application import Ledger
from ring_ledger.domain import (
    AccountKey,
    Balances,
    IdempotencyKeyReused,
    InsufficientFunds,
    NoOpenSlot,
    NotAccountHolder,
    OrderAlreadySettled,
    Purpose,
    Rejected,
    Reserved,
    WithdrawalAlreadyDecided,
    WithdrawalNotDue,
    WithdrawalNotFound,
    WithdrawalStatus,
)
from ring_ledger.queries import MAX_CURSOR, InvalidPage

from .conftest import make_ledger

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
A, B, C, D = (uuid4() for _ in range(4))
T, T1, T2 = (uuid4() for _ in range(3))
O1, O2, O3 = (uuid4() for _ in range(3))


def balances(ledger: Ledger, party: UUID) -> tuple[int, int]:
    b = ledger.balances(party, "CNY")
    return b.available_minor, b.reserved_minor


def platform_balance(ledger: Ledger, purpose: Purpose) -> int:
    account = ledger.get_account(AccountKey.platform(purpose, "CNY"))
    return account.balance if account else 0


def test_deposit_is_idempotent_on_its_key(ledger: Ledger) -> None:
    first = ledger.create_deposit(A, 1000, "CNY", "dep-1")
    again = ledger.create_deposit(A, 1000, "CNY", "dep-1")
    assert first.id == again.id
    assert ledger.balances(A, "CNY") == Balances(str(A), "CNY", 1000, 0)
    assert platform_balance(ledger, Purpose.DEPOSIT_CLEARING) == -1000
    with pytest.raises(IdempotencyKeyReused):
        ledger.create_deposit(A, 999, "CNY", "dep-1")
    assert ledger.check() == []


def test_publish_with_enough_money_reserves_slots_times_commission_plus_fee(
    ledger: Ledger,
) -> None:
    ledger.create_deposit(A, 10_000, "CNY", "d")
    result = ledger.request_funding(T1, A, 3, 1000, 100, "CNY")
    assert result == Reserved(str(T1), str(A), 3300, "CNY", 3, 1000, 100)
    assert balances(ledger, A) == (6700, 3300)
    assert ledger.request_funding(T1, A, 3, 1000, 100, "CNY") is None  # repeat: stale
    assert ledger.request_funding(T1, A, 4, 1000, 100, "CNY") is None  # other terms: stale
    assert balances(ledger, A) == (6700, 3300)
    assert ledger.check() == []


def test_publish_with_too_little_money_is_rejected_with_exact_shortfall(ledger: Ledger) -> None:
    ledger.create_deposit(A, 3000, "CNY", "d")
    result = ledger.request_funding(T1, A, 3, 1000, 100, "CNY")
    assert result == Rejected(str(T1), 300, "CNY")
    assert balances(ledger, A) == (3000, 0)  # no money moved (the saga records the rejection)
    # a party with no account at all lacks the whole amount
    assert ledger.request_funding(T2, uuid4(), 1, 10, 1, "CNY") == Rejected(str(T2), 11, "CNY")
    # after topping up, the same task can be funded
    ledger.create_deposit(A, 300, "CNY", "d2")
    assert isinstance(ledger.request_funding(T1, A, 3, 1000, 100, "CNY"), Reserved)
    assert balances(ledger, A) == (0, 3300)


def test_settlement_pays_full_commission_to_b_and_fee_to_platform_at_most_once(
    ledger: Ledger,
) -> None:
    ledger.create_deposit(A, 2200, "CNY", "d")
    ledger.request_funding(T, A, 2, 1000, 100, "CNY")
    first = ledger.settle_commission(T, O1, B, 1000, 100)
    assert (first.provider_minor, first.fee_minor, first.refund_minor) == (1000, 100, 0)
    assert ledger.settle_commission(T, O1, B, 1000, 100) == first  # redelivered approval
    assert ledger.settle_commission(T, O1, B, 1000, 100) == first
    assert balances(ledger, B) == (1000, 0)
    assert balances(ledger, A) == (0, 1100)
    assert platform_balance(ledger, Purpose.FEE_REVENUE) == 100
    with pytest.raises(OrderAlreadySettled):
        ledger.settle_commission(T, O1, uuid4(), 1000, 100)
    ledger.settle_commission(T, O2, C, 1000, 100)
    with pytest.raises(NoOpenSlot):
        ledger.settle_commission(T, O3, D, 1000, 100)
    assert ledger.get_escrow(T).open_slots == 0  # type: ignore[union-attr]
    assert ledger.check() == []


def test_cancellation_refunds_exactly_the_unused_part(ledger: Ledger) -> None:
    ledger.create_deposit(A, 10_000, "CNY", "d")
    ledger.request_funding(T, A, 5, 1000, 100, "CNY")  # 5500 reserved
    ledger.settle_commission(T, O1, B, 1000, 100)
    ledger.settle_commission(T, O2, B, 1000, 100)
    release = ledger.release_unused_escrow(T, "task-cancelled")
    assert release is not None
    assert (release.slots, release.refund_minor) == (3, 3300)
    assert balances(ledger, A) == (4500 + 3300, 0)
    assert ledger.release_unused_escrow(T, "task-cancelled") is None  # idempotent: closed
    assert balances(ledger, A) == (7800, 0)
    with pytest.raises(NoOpenSlot):
        ledger.settle_commission(T, O3, B, 1000, 100)  # nothing is left to settle
    assert ledger.check() == []


@pytest.mark.parametrize(
    ("percent", "to_b", "fee", "to_a"),
    [(100, 999, 100, 0), (0, 0, 0, 1099), (50, 499, 50, 550), (33, 329, 33, 737)],
)
def test_dispute_resolution_split_rounding(
    ledger: Ledger, percent: int, to_b: int, fee: int, to_a: int
) -> None:
    ledger.create_deposit(A, 1099, "CNY", "d")
    ledger.request_funding(T, A, 1, 999, 100, "CNY")
    result = ledger.execute_dispute_outcome(T, O1, B, percent)
    assert (result.provider_minor, result.fee_minor, result.refund_minor) == (to_b, fee, to_a)
    assert balances(ledger, B)[0] == to_b
    assert balances(ledger, A) == (to_a, 0)
    assert platform_balance(ledger, Purpose.FEE_REVENUE) == fee
    assert ledger.execute_dispute_outcome(T, O1, B, percent) == result
    with pytest.raises(OrderAlreadySettled):
        ledger.execute_dispute_outcome(T, O1, B, (percent + 1) % 101)
    assert ledger.check() == []


def test_withdrawal_never_more_than_available_then_paid_or_cancelled(ledger: Ledger) -> None:
    ledger.create_deposit(B, 500, "CNY", "d")
    with pytest.raises(InsufficientFunds) as excinfo:
        ledger.request_withdrawal(B, 501, "CNY", "w0", now=NOW)
    assert excinfo.value.shortfall_minor == 1
    assert excinfo.value.code == "insufficient_funds"
    w1 = ledger.request_withdrawal(B, 300, "CNY", "w1", now=NOW)
    assert w1.clears_at == NOW + timedelta(hours=24)  # default clearance
    assert ledger.request_withdrawal(B, 300, "CNY", "w1", now=NOW).id == w1.id  # same key
    with pytest.raises(IdempotencyKeyReused):
        ledger.request_withdrawal(B, 299, "CNY", "w1", now=NOW)
    assert balances(ledger, B) == (200, 300)
    with pytest.raises(InsufficientFunds):
        ledger.request_withdrawal(B, 201, "CNY", "w2", now=NOW)
    with pytest.raises(WithdrawalNotDue):
        ledger.complete_withdrawal(w1.id, now=NOW + timedelta(hours=23))
    assert [w.id for w in ledger.due_withdrawals(NOW + timedelta(hours=24))] == [w1.id]
    paid = ledger.pay_due_withdrawals(NOW + timedelta(hours=24))
    assert [(w.id, w.status) for w in paid] == [(w1.id, WithdrawalStatus.PAID)]
    assert ledger.complete_withdrawal(w1.id).status is WithdrawalStatus.PAID  # idempotent
    assert balances(ledger, B) == (200, 0)
    assert platform_balance(ledger, Purpose.PAYOUT_CLEARING) == 300
    w3 = ledger.request_withdrawal(B, 200, "CNY", "w3", now=NOW)
    with pytest.raises(NotAccountHolder):
        ledger.cancel_withdrawal(w3.id, A)
    assert ledger.cancel_withdrawal(w3.id, B).status is WithdrawalStatus.CANCELLED
    assert ledger.cancel_withdrawal(w3.id, B).status is WithdrawalStatus.CANCELLED
    assert balances(ledger, B) == (200, 0)
    with pytest.raises(WithdrawalAlreadyDecided):
        ledger.complete_withdrawal(w3.id, now=NOW + timedelta(days=2))
    with pytest.raises(WithdrawalNotFound):
        ledger.complete_withdrawal(uuid4())
    assert ledger.due_withdrawals(NOW + timedelta(days=2)) == []
    assert ledger.check() == []


def test_withdrawal_clearance_is_configurable() -> None:
    ledger = make_ledger(RING_WITHDRAWAL_CLEARANCE_HOURS="2")
    ledger.create_deposit(B, 10, "CNY", "d")
    assert ledger.request_withdrawal(B, 10, "CNY", "k", now=NOW).clears_at == NOW + timedelta(
        hours=2
    )
    with pytest.raises(ValueError, match="RING_WITHDRAWAL_CLEARANCE_HOURS"):
        make_ledger(RING_WITHDRAWAL_CLEARANCE_HOURS="1.5")


def test_statement_pages_postings_in_order(ledger: Ledger) -> None:
    deposits = [ledger.create_deposit(A, 10 + i, "CNY", f"d{i}") for i in range(5)]
    withdrawal = ledger.request_withdrawal(A, 7, "CNY", "w")
    first = ledger.statement(A, "CNY", limit=4)
    assert [p.credit_minor for p in first.postings] == [10, 11, 12, 13]
    assert first.next_cursor is not None
    rest = ledger.statement(A, "CNY", cursor=first.next_cursor, limit=4)
    assert [p.transfer_id for p in rest.postings] == [
        f"deposit:{deposits[4].id}",
        withdrawal.transfer_id,
    ]
    assert rest.postings[-1].pending_debit_minor == 7
    assert rest.next_cursor is None
    assert ledger.statement(uuid4(), "CNY").postings == []
    for cursor, limit in ((-1, 4), (MAX_CURSOR + 1, 4), (0, 0), (0, 1001)):
        with pytest.raises(InvalidPage):
            ledger.statement(A, "CNY", cursor=cursor, limit=limit)
    assert ledger.statement(A, "CNY", cursor=MAX_CURSOR).postings == []


def test_concurrent_publishes_fund_only_the_affordable_ones() -> None:
    ledger = make_ledger()
    ledger.create_deposit(A, 5_000, "CNY", "d")
    results: list[object] = []

    def publish() -> None:
        results.append(ledger.request_funding(uuid4(), A, 1, 1000, 100, "CNY"))

    threads = [threading.Thread(target=publish) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reserved = [r for r in results if isinstance(r, Reserved)]
    assert len(reserved) == 4  # 4 x 1100 = 4400 <= 5000 < 5500
    assert len(results) == 12
    assert all(isinstance(r, Rejected) for r in results if r not in reserved)
    assert balances(ledger, A) == (600, 4400)
    assert ledger.check() == []


def test_optimistic_concurrency_prevents_overdraft_under_a_race() -> None:
    """A withdrawal lands between the hold's read and its save: the hold re-reads and fails."""

    class RacingLedger(Ledger):
        race: list[object] = []

        def save(self, *objs, **kwargs):  # type: ignore[no-untyped-def]
            if self.race:
                self.race.pop()  # run the competing command once, before our save
                self.request_withdrawal(A, 800, "CNY", "w1")
            return super().save(*objs, **kwargs)

    ledger = RacingLedger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    ledger.create_deposit(A, 1000, "CNY", "d")
    ledger.race.append(object())
    result = ledger.request_funding(T, A, 1, 500, 0, "CNY")
    assert result == Rejected(str(T), 300, "CNY")
    assert balances(ledger, A) == (200, 800)
    assert ledger.check() == []
