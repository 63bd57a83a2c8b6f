"""Property-based test: random sequences of the ledger's commands keep every invariant.

After every step: ``check()`` is clean (posting sets sum to zero per currency, no forbidden
negative balance, every escrow equals its task's open obligations) and money is conserved
(what parties hold plus platform fees equals deposits minus completed payouts). A refused
command records nothing, and repeating a command with the same idempotency key returns the
original result and records nothing. Pending transfers are driven as production drives them:
a payout reserves one, completing it posts it, cancelling it voids it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from ring_ledger.domain import AccountKey, LedgerError, Purpose, Rejected

from .conftest import make_ledger

PAYERS = (UUID(int=0xA1), UUID(int=0xA2))
PROVIDERS = (UUID(int=0xB1), UUID(int=0xB2))
PARTIES = PAYERS + PROVIDERS
CURRENCY = "CNY"
NOW = datetime(2030, 1, 1, tzinfo=UTC)
CLEARED = NOW + timedelta(days=2)

payers = st.sampled_from(PAYERS)
providers = st.sampled_from(PROVIDERS)
parties = st.sampled_from(PARTIES)
keys = st.integers(0, 4).map(str)  # small pools so idempotency keys repeat
tasks = st.integers(0, 3).map(lambda i: UUID(int=0x7000 + i))
orders = st.integers(0, 3).map(lambda i: UUID(int=0x0D00 + i))
amounts = st.integers(1, 2500)


class LedgerMachine(RuleBasedStateMachine):
    """Drives one Ledger with random production commands and checks it after each."""

    funded = Bundle("funded")  # task ids that were funded at least once
    withdrawals = Bundle("withdrawals")  # ids of requested withdrawals

    @initialize()
    def start(self) -> None:
        self.ledger = make_ledger()
        self.results: dict[tuple[Any, ...], Any] = {}
        self.deposited = 0
        self.paid_out = 0
        for party in PARTIES:  # start with some money so most commands can succeed
            self.ledger.create_deposit(party, 4000, CURRENCY, f"seed-{party}")
            self.deposited += 4000

    # -------------------------------------------------------------- harness

    def attempt(self, key: tuple[Any, ...], command: Callable[[], Any]) -> Any:
        """Run ``command``; refused -> nothing recorded; repeated -> original result.

        A rejected funding, and a saga step with nothing left to do (None), move no money but
        may record the saga's own bookkeeping; the invariants check that no money moved.
        """
        before = self.ledger.recorder.max_notification_id()
        try:
            result = command()
        except LedgerError:
            assert self.ledger.recorder.max_notification_id() == before
            return None
        if result is None or isinstance(result, Rejected):
            return None
        if key in self.results:
            assert result == self.results[key]
            assert self.ledger.recorder.max_notification_id() == before
            return None  # no new effect
        self.results[key] = result
        return result

    # -------------------------------------------------------------- rules

    @rule(party=parties, amount=amounts, deposit_id=keys)
    def deposit(self, party: UUID, amount: int, deposit_id: str) -> None:
        key = ("deposit", party, amount, deposit_id)
        deposit = self.ledger.create_deposit
        if self.attempt(key, lambda: deposit(party, amount, CURRENCY, deposit_id).id):
            self.deposited += amount

    @rule(party=parties, amount=amounts, deposit_id=keys)
    def deposit_in_other_currency(self, party: UUID, amount: int, deposit_id: str) -> None:
        key = ("deposit-usd", party, amount, deposit_id)
        self.attempt(
            key, lambda: self.ledger.create_deposit(party, amount, "USD", f"usd-{deposit_id}").id
        )

    @rule(
        target=funded,
        task=tasks,
        owner=payers,
        slots=st.integers(1, 3),
        commission=st.integers(1, 1200),
        fee=st.integers(0, 200),
    )
    def hold(self, task: UUID, owner: UUID, slots: int, commission: int, fee: int) -> Any:
        key = ("hold", task, owner, slots, commission, fee)
        result = self.attempt(
            key,
            lambda: self.ledger.request_funding(task, owner, slots, commission, fee, CURRENCY),
        )
        return task if result else multiple()

    @rule(task=funded, order=orders, provider=providers)
    def settle(self, task: UUID, order: UUID, provider: UUID) -> None:
        escrow = self.ledger.get_escrow(task)
        assert escrow is not None
        terms = (escrow.commission_minor, escrow.fee_minor)
        key = ("resolve", task, order, provider, 100)
        self.attempt(key, lambda: self.ledger.settle_commission(task, order, provider, *terms))

    @rule(task=funded, order=orders, provider=providers, percent=st.integers(0, 100))
    def resolve(self, task: UUID, order: UUID, provider: UUID, percent: int) -> None:
        key = ("resolve", task, order, provider, percent)
        self.attempt(
            key, lambda: self.ledger.execute_dispute_outcome(task, order, provider, percent)
        )

    @rule(task=funded)
    def release(self, task: UUID) -> None:
        key = ("release", task)
        self.attempt(key, lambda: self.ledger.release_unused_escrow(task, "task-cancelled"))

    @rule(target=withdrawals, party=parties, amount=amounts, withdrawal_id=keys)
    def withdraw(self, party: UUID, amount: int, withdrawal_id: str) -> Any:
        key = ("withdraw", party, amount, withdrawal_id)
        result = self.attempt(
            key,
            lambda: self.ledger.request_withdrawal(party, amount, CURRENCY, withdrawal_id, NOW).id,
        )
        return result if result else multiple()

    @rule(withdrawal_id=withdrawals)
    def withdraw_complete(self, withdrawal_id: UUID) -> None:
        key = ("withdraw-complete", withdrawal_id)
        result = self.attempt(
            key, lambda: self.ledger.complete_withdrawal(withdrawal_id, CLEARED).status
        )
        if result is not None:
            self.paid_out += self.ledger.get_withdrawal(withdrawal_id).amount_minor

    @rule(withdrawal_id=withdrawals)
    def withdraw_cancel(self, withdrawal_id: UUID) -> None:
        key = ("withdraw-cancel", withdrawal_id)
        party = UUID(self.ledger.get_withdrawal(withdrawal_id).party_id)
        self.attempt(key, lambda: self.ledger.cancel_withdrawal(withdrawal_id, party).status)

    # -------------------------------------------------------------- invariants

    @invariant()
    def ledger_check_is_clean(self) -> None:
        assert self.ledger.check() == []

    @invariant()
    def money_is_conserved(self) -> None:
        held = 0
        for party in PARTIES:
            balances = self.ledger.balances(party, CURRENCY)
            assert balances.available_minor >= 0
            assert balances.reserved_minor >= 0
            held += balances.available_minor + balances.reserved_minor
        revenue = self.ledger.get_account(AccountKey.platform(Purpose.FEE_REVENUE, CURRENCY))
        held += revenue.balance if revenue else 0
        assert held == self.deposited - self.paid_out


LedgerMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerMachine = LedgerMachine.TestCase
