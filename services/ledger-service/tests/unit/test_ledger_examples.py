"""Example-based tests of the Ledger's money flows on the in-memory event store."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from ring_ledger.application import Ledger, RestrictedAccount
from ring_ledger.domain import (
    AccountKey,
    Balances,
    CurrencyMismatch,
    EscrowNotFound,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidAmount,
    NoOpenSlot,
    OrderAlreadySettled,
    PendingTransferAlreadyResolved,
    PostExceedsPending,
    Purpose,
    Rejected,
    ReleaseExceedsOpenSlots,
    Reserved,
    SameAccountTransfer,
    TransferIdReused,
    TransferNotPending,
    WithdrawalAlreadyDecided,
    WithdrawalNotDue,
    WithdrawalNotFound,
    WithdrawalStatus,
)
from ring_ledger.queries import MAX_CURSOR, InvalidPage

from .conftest import make_ledger

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def balances(ledger: Ledger, party: str) -> tuple[int, int]:
    b = ledger.balances(party, "CNY")
    return b.available_minor, b.reserved_minor


def platform_balance(ledger: Ledger, purpose: Purpose) -> int:
    account = ledger.get_account(AccountKey.platform(purpose, "CNY"))
    return account.balance if account else 0


def test_deposit_is_idempotent_on_deposit_id(ledger: Ledger) -> None:
    first = ledger.deposit("A", 1000, "CNY", "dep-1")
    again = ledger.deposit("A", 1000, "CNY", "dep-1")
    assert first == again
    assert ledger.balances("A", "CNY") == Balances("A", "CNY", 1000, 0)
    assert platform_balance(ledger, Purpose.DEPOSIT_CLEARING) == -1000
    with pytest.raises(TransferIdReused):
        ledger.deposit("A", 999, "CNY", "dep-1")
    assert ledger.check() == []


def test_publish_with_enough_money_reserves_slots_times_commission_plus_fee(
    ledger: Ledger,
) -> None:
    ledger.deposit("A", 10_000, "CNY", "d")
    result = ledger.hold_task_escrow("T1", "A", 3, 1000, 100, "CNY")
    assert result == Reserved("T1", "A", 3300, "CNY", 3, 1000, 100)
    assert balances(ledger, "A") == (6700, 3300)
    assert ledger.hold_task_escrow("T1", "A", 3, 1000, 100, "CNY") == result  # repeat
    assert balances(ledger, "A") == (6700, 3300)
    with pytest.raises(TransferIdReused):
        ledger.hold_task_escrow("T1", "A", 4, 1000, 100, "CNY")
    assert ledger.check() == []


def test_publish_with_too_little_money_is_rejected_with_exact_shortfall(ledger: Ledger) -> None:
    ledger.deposit("A", 3000, "CNY", "d")
    before = ledger.recorder.max_notification_id()
    result = ledger.hold_task_escrow("T1", "A", 3, 1000, 100, "CNY")
    assert result == Rejected("T1", 300, "CNY")
    assert ledger.recorder.max_notification_id() == before  # nothing recorded
    assert balances(ledger, "A") == (3000, 0)
    # a party with no account at all lacks the whole amount
    assert ledger.hold_task_escrow("T2", "nobody", 1, 10, 1, "CNY") == Rejected("T2", 11, "CNY")
    # after topping up, the same task can be funded
    ledger.deposit("A", 300, "CNY", "d2")
    assert isinstance(ledger.hold_task_escrow("T1", "A", 3, 1000, 100, "CNY"), Reserved)
    assert balances(ledger, "A") == (0, 3300)


def test_settlement_pays_full_commission_to_b_and_fee_to_platform_at_most_once(
    ledger: Ledger,
) -> None:
    ledger.deposit("A", 2200, "CNY", "d")
    ledger.hold_task_escrow("T", "A", 2, 1000, 100, "CNY")
    first = ledger.settle_order("T", "O1", "B")
    assert (first.provider_minor, first.fee_minor, first.refund_minor) == (1000, 100, 0)
    assert ledger.settle_order("T", "O1", "B") == first  # redelivered approval
    assert ledger.settle_order("T", "O1", "B") == first
    assert balances(ledger, "B") == (1000, 0)
    assert balances(ledger, "A") == (0, 1100)
    assert platform_balance(ledger, Purpose.FEE_REVENUE) == 100
    with pytest.raises(OrderAlreadySettled):
        ledger.settle_order("T", "O1", "someone-else")
    ledger.settle_order("T", "O2", "C")
    with pytest.raises(NoOpenSlot):
        ledger.settle_order("T", "O3", "D")
    assert ledger.get_escrow("T").open_slots == 0  # type: ignore[union-attr]
    assert ledger.check() == []


def test_cancellation_refunds_exactly_the_unused_part(ledger: Ledger) -> None:
    ledger.deposit("A", 10_000, "CNY", "d")
    ledger.hold_task_escrow("T", "A", 5, 1000, 100, "CNY")  # 5500 reserved
    ledger.settle_order("T", "O1", "B")
    ledger.settle_order("T", "O2", "B")
    release = ledger.release_unused("T", None, "cancelled")
    assert (release.slots, release.refund_minor) == (3, 3300)
    assert balances(ledger, "A") == (4500 + 3300, 0)
    assert ledger.release_unused("T", None, "cancelled") == release  # idempotent
    assert balances(ledger, "A") == (7800, 0)
    assert ledger.check() == []


def test_partial_release_and_limits(ledger: Ledger) -> None:
    ledger.deposit("A", 1000, "CNY", "d")
    ledger.hold_task_escrow("T", "A", 4, 200, 20, "CNY")
    assert ledger.release_unused("T", 1, "r1").refund_minor == 220
    with pytest.raises(TransferIdReused):
        ledger.release_unused("T", 2, "r1")
    with pytest.raises(ReleaseExceedsOpenSlots):
        ledger.release_unused("T", 4, "r2")
    with pytest.raises(InvalidAmount):
        ledger.release_unused("T", 0, "r3")
    with pytest.raises(EscrowNotFound):
        ledger.release_unused("nope", 1, "r1")
    assert balances(ledger, "A") == (120 + 220, 660)
    assert ledger.check() == []


@pytest.mark.parametrize(
    ("percent", "to_b", "fee", "to_a"),
    [(100, 999, 100, 0), (0, 0, 0, 1099), (50, 499, 50, 550), (33, 329, 33, 737)],
)
def test_dispute_resolution_split_rounding(
    ledger: Ledger, percent: int, to_b: int, fee: int, to_a: int
) -> None:
    ledger.deposit("A", 1099, "CNY", "d")
    ledger.hold_task_escrow("T", "A", 1, 999, 100, "CNY")
    result = ledger.resolve_order("T", "O", "B", percent)
    assert (result.provider_minor, result.fee_minor, result.refund_minor) == (to_b, fee, to_a)
    assert balances(ledger, "B")[0] == to_b
    assert balances(ledger, "A") == (to_a, 0)
    assert platform_balance(ledger, Purpose.FEE_REVENUE) == fee
    assert ledger.resolve_order("T", "O", "B", percent) == result
    with pytest.raises(OrderAlreadySettled):
        ledger.resolve_order("T", "O", "B", (percent + 1) % 101)
    assert ledger.check() == []


def test_withdrawal_never_more_than_available_then_paid_or_cancelled(ledger: Ledger) -> None:
    ledger.deposit("B", 500, "CNY", "d")
    with pytest.raises(InsufficientFunds) as excinfo:
        ledger.request_withdrawal("B", 501, "CNY", "w0", now=NOW)
    assert excinfo.value.shortfall_minor == 1
    assert excinfo.value.code == "insufficient_funds"
    w1 = ledger.request_withdrawal("B", 300, "CNY", "w1", now=NOW)
    assert w1.clears_at == NOW + timedelta(hours=24)  # default clearance
    assert ledger.request_withdrawal("B", 300, "CNY", "w1", now=NOW).id == w1.id  # same key
    with pytest.raises(IdempotencyKeyReused):
        ledger.request_withdrawal("B", 299, "CNY", "w1", now=NOW)
    assert balances(ledger, "B") == (200, 300)
    with pytest.raises(InsufficientFunds):
        ledger.request_withdrawal("B", 201, "CNY", "w2", now=NOW)
    with pytest.raises(WithdrawalNotDue):
        ledger.complete_withdrawal(w1.id, now=NOW + timedelta(hours=23))
    assert [w.id for w in ledger.due_withdrawals(NOW + timedelta(hours=24))] == [w1.id]
    paid = ledger.pay_due_withdrawals(NOW + timedelta(hours=24))
    assert [(w.id, w.status) for w in paid] == [(w1.id, WithdrawalStatus.PAID)]
    assert ledger.complete_withdrawal(w1.id).status is WithdrawalStatus.PAID  # idempotent
    assert balances(ledger, "B") == (200, 0)
    assert platform_balance(ledger, Purpose.PAYOUT_CLEARING) == 300
    w3 = ledger.request_withdrawal("B", 200, "CNY", "w3", now=NOW)
    assert ledger.cancel_withdrawal(w3.id).status is WithdrawalStatus.CANCELLED
    assert ledger.cancel_withdrawal(w3.id).status is WithdrawalStatus.CANCELLED
    assert balances(ledger, "B") == (200, 0)
    with pytest.raises(WithdrawalAlreadyDecided):
        ledger.complete_withdrawal(w3.id, now=NOW + timedelta(days=2))
    with pytest.raises(WithdrawalNotFound):
        ledger.complete_withdrawal(uuid4())
    assert ledger.due_withdrawals(NOW + timedelta(days=2)) == []
    assert ledger.check() == []


def test_withdrawal_clearance_is_configurable() -> None:
    ledger = make_ledger(RING_WITHDRAWAL_CLEARANCE_HOURS="2")
    ledger.deposit("B", 10, "CNY", "d")
    assert ledger.request_withdrawal("B", 10, "CNY", "k", now=NOW).clears_at == NOW + timedelta(
        hours=2
    )
    with pytest.raises(ValueError, match="RING_WITHDRAWAL_CLEARANCE_HOURS"):
        make_ledger(RING_WITHDRAWAL_CLEARANCE_HOURS="1.5")


def test_two_phase_partial_post_releases_remainder(ledger: Ledger) -> None:
    a, b = AccountKey.available("A", "CNY"), AccountKey.available("B", "CNY")
    ledger.deposit("A", 1000, "CNY", "d")
    ledger.transfer("p1", a, b, 600, pending=True)
    assert balances(ledger, "A") == (400, 600)
    with pytest.raises(PostExceedsPending):
        ledger.post_pending("p1", 601)
    result = ledger.post_pending("p1", 250)
    assert (result.posted_minor, result.released_minor) == (250, 350)
    assert ledger.post_pending("p1", 250) == result
    with pytest.raises(PendingTransferAlreadyResolved):
        ledger.void_pending("p1")
    assert balances(ledger, "A") == (750, 0)
    assert balances(ledger, "B") == (250, 0)
    ledger.transfer("p2", a, b, 100)
    with pytest.raises(TransferNotPending):
        ledger.post_pending("p2")
    assert ledger.check() == []


def test_transfer_guards(ledger: Ledger) -> None:
    a, b = AccountKey.available("A", "CNY"), AccountKey.available("B", "CNY")
    ledger.deposit("A", 100, "CNY", "d")
    with pytest.raises(CurrencyMismatch):
        ledger.transfer("x1", a, AccountKey.available("B", "USD"), 10)
    with pytest.raises(SameAccountTransfer):
        ledger.transfer("x2", a, a, 10)
    with pytest.raises(RestrictedAccount):
        ledger.transfer("x3", a, AccountKey.escrow("T", "CNY"), 10)
    for bad in (0, -5, 1.5, "10"):
        with pytest.raises(InvalidAmount):
            ledger.transfer("x4", a, b, bad)  # type: ignore[arg-type]
    assert ledger.transfer("x5", a, b, 100).amount_minor == 100
    with pytest.raises(TransferIdReused):
        ledger.transfer("x5", b, a, 100)
    assert balances(ledger, "A") == (0, 0)
    assert ledger.check() == []


def test_statement_pages_postings_in_order(ledger: Ledger) -> None:
    for i in range(5):
        ledger.deposit("A", 10 + i, "CNY", f"d{i}")
    withdrawal = ledger.request_withdrawal("A", 7, "CNY", "w")
    first = ledger.statement("A", "CNY", limit=4)
    assert [p.credit_minor for p in first.postings] == [10, 11, 12, 13]
    assert first.next_cursor is not None
    rest = ledger.statement("A", "CNY", cursor=first.next_cursor, limit=4)
    assert [p.transfer_id for p in rest.postings] == ["deposit:d4", withdrawal.transfer_id]
    assert rest.postings[-1].pending_debit_minor == 7
    assert rest.next_cursor is None
    assert ledger.statement("nobody", "CNY").postings == []
    for cursor, limit in ((-1, 4), (MAX_CURSOR + 1, 4), (0, 0), (0, 1001)):
        with pytest.raises(InvalidPage):
            ledger.statement("A", "CNY", cursor=cursor, limit=limit)
    assert ledger.statement("A", "CNY", cursor=MAX_CURSOR).postings == []


def test_concurrent_publishes_fund_only_the_affordable_ones() -> None:
    ledger = make_ledger()
    ledger.deposit("A", 5_000, "CNY", "d")
    results: list[object] = []

    def publish(i: int) -> None:
        results.append(ledger.hold_task_escrow(f"T{i}", "A", 1, 1000, 100, "CNY"))

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reserved = [r for r in results if isinstance(r, Reserved)]
    assert len(reserved) == 4  # 4 x 1100 = 4400 <= 5000 < 5500
    assert len(results) == 12
    assert all(isinstance(r, Rejected) for r in results if r not in reserved)
    assert balances(ledger, "A") == (600, 4400)
    assert ledger.check() == []


def test_optimistic_concurrency_prevents_overdraft_under_a_race() -> None:
    """A withdrawal lands between the hold's read and its save: the hold re-reads and fails."""

    class RacingLedger(Ledger):
        race: list[object] = []

        def save(self, *objs, **kwargs):  # type: ignore[no-untyped-def]
            if self.race:
                self.race.pop()  # run the competing command once, before our save
                self.request_withdrawal("A", 800, "CNY", "w1")
            return super().save(*objs, **kwargs)

    ledger = RacingLedger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    ledger.deposit("A", 1000, "CNY", "d")
    ledger.race.append(object())
    result = ledger.hold_task_escrow("T", "A", 1, 500, 0, "CNY")
    assert result == Rejected("T", 300, "CNY")
    assert balances(ledger, "A") == (200, 800)
    assert ledger.check() == []
