"""Accounts: one aggregate per (owner, purpose, currency), holding posted and pending totals.

Balances follow the credit-normal convention of a platform's liabilities to its users (as in
TigerBeetle): ``balance = credits_posted - debits_posted`` and
``available = balance - debits_pending``. Pending credits are not spendable until posted.

An account flagged ``must_not_go_negative`` refuses any debit (posted or pending) that would make
``debits_posted + debits_pending`` exceed ``credits_posted``. Party and escrow accounts carry the
flag; the platform's clearing accounts (the mirror of money outside the ledger) may go negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.domain import Aggregate

from ring_ledger.domain.errors import LedgerError
from ring_ledger.domain.ids import derive_id
from ring_ledger.domain.money import InvalidAmount, check_amount, check_currency

#: Owner of the platform's own accounts.
PLATFORM = "platform"


class Purpose(StrEnum):
    """What an account is for; decides whether it may go negative."""

    AVAILABLE = "available"  # a party's spendable wallet
    ESCROW = "escrow"  # a task's pre-funded commission and fee (owner = task id)
    FEE_REVENUE = "fee_revenue"  # platform fees earned
    DEPOSIT_CLEARING = "deposit_clearing"  # money received from the payment provider
    PAYOUT_CLEARING = "payout_clearing"  # money paid out to providers' bank accounts

    @property
    def must_not_go_negative(self) -> bool:
        """Whether debits may never exceed credits on accounts of this purpose."""
        return self not in (Purpose.DEPOSIT_CLEARING, Purpose.PAYOUT_CLEARING)


@dataclass(frozen=True, slots=True)
class AccountKey:
    """Business identity of an account."""

    owner: str
    purpose: Purpose
    currency: str

    def __str__(self) -> str:
        return f"{self.owner}/{self.purpose.value}/{self.currency}"

    @property
    def id(self) -> UUID:
        """The account aggregate's deterministic id."""
        return derive_id("account", self.owner, self.purpose.value, self.currency)

    @classmethod
    def available(cls, party_id: str, currency: str) -> AccountKey:
        """A party's available (spendable) account."""
        return cls(party_id, Purpose.AVAILABLE, currency)

    @classmethod
    def escrow(cls, task_id: str, currency: str) -> AccountKey:
        """A task's escrow account."""
        return cls(task_id, Purpose.ESCROW, currency)

    @classmethod
    def platform(cls, purpose: Purpose, currency: str) -> AccountKey:
        """One of the platform's own accounts."""
        return cls(PLATFORM, purpose, currency)


class Figures(NamedTuple):
    """How one event changes an account's four totals (each may be negative)."""

    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int


class Account(Aggregate):
    """A ledger account; every change is a posting of one side of a transfer."""

    @staticmethod
    def create_id(owner: str, purpose: str, currency: str, **_: Any) -> UUID:
        """Accounts are identified by (owner, purpose, currency)."""
        return AccountKey(owner, Purpose(purpose), currency).id

    class Opened(Aggregate.Created):
        owner: str
        purpose: str
        currency: str
        must_not_go_negative: bool

    def __init__(self, owner: str, purpose: str, currency: str, must_not_go_negative: bool) -> None:
        self.owner = owner
        self.purpose = Purpose(purpose)
        self.currency = check_currency(currency)
        self.must_not_go_negative = must_not_go_negative
        self.debits_posted = 0
        self.credits_posted = 0
        self.debits_pending = 0
        self.credits_pending = 0

    @classmethod
    def open(cls, key: AccountKey) -> Account:
        """Open the account named by ``key`` with the flags its purpose implies."""
        return cls(
            owner=key.owner,
            purpose=key.purpose.value,
            currency=key.currency,
            must_not_go_negative=key.purpose.must_not_go_negative,
        )

    @property
    def purpose(self) -> Purpose:
        """What the account is for.

        Read through a property because snapshots are JSON: a ``StrEnum`` is stored as its plain
        string and comes back as ``str``. An account restored from a snapshot then had
        ``purpose == "fee_revenue"`` but not ``purpose is Purpose.FEE_REVENUE``, and the busiest
        accounts (the platform's, the only ones with snapshots) dropped out of every total.
        Typing the value on read holds for snapshots already stored, whatever their class.
        """
        return Purpose(self.__dict__["purpose"])

    @purpose.setter
    def purpose(self, value: str) -> None:
        self.__dict__["purpose"] = Purpose(value)

    @property
    def key(self) -> AccountKey:
        """The account's business identity."""
        return AccountKey(self.owner, self.purpose, self.currency)

    @property
    def balance(self) -> int:
        """Posted balance: credits minus debits."""
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        """Posted balance less debits reserved by pending transfers."""
        return self.balance - self.debits_pending

    def shortfall(self, amount_minor: int) -> int:
        """How much is missing to debit ``amount_minor`` (0 when affordable or unflagged)."""
        if not self.must_not_go_negative:
            return 0
        return max(0, amount_minor - self.available)

    def check_can_debit(self, amount_minor: int) -> None:
        """Raise :class:`InsufficientFunds` if debiting ``amount_minor`` is forbidden."""
        check_amount(amount_minor)
        missing = self.shortfall(amount_minor)
        if missing:
            raise InsufficientFunds(self.key, missing)

    class Change(Aggregate.Event):
        """An event of transfer ``transfer_id`` moving the account's totals by ``figures``."""

        transfer_id: str
        code: str

        @property
        def figures(self) -> Figures:
            """How much each of the four totals changes."""
            raise NotImplementedError

        def apply(self, aggregate: Account) -> None:
            figures = self.figures
            aggregate.debits_posted += figures.debits_posted
            aggregate.credits_posted += figures.credits_posted
            aggregate.debits_pending += figures.debits_pending
            aggregate.credits_pending += figures.credits_pending

    class Posting(Change):
        """``amount_minor`` posted, or reserved for a pending transfer."""

        amount_minor: int

    class Debited(Posting):
        @property
        def figures(self) -> Figures:
            return Figures(self.amount_minor, 0, 0, 0)

    class Credited(Posting):
        @property
        def figures(self) -> Figures:
            return Figures(0, self.amount_minor, 0, 0)

    class DebitReserved(Posting):
        @property
        def figures(self) -> Figures:
            return Figures(0, 0, self.amount_minor, 0)

    class CreditReserved(Posting):
        @property
        def figures(self) -> Figures:
            return Figures(0, 0, 0, self.amount_minor)

    class Resolution(Change):
        """A pending ``reserved_minor`` released, ``posted_minor`` of it posted."""

        reserved_minor: int
        posted_minor: int

    class ReservedDebitResolved(Resolution):
        @property
        def figures(self) -> Figures:
            return Figures(self.posted_minor, 0, -self.reserved_minor, 0)

    class ReservedCreditResolved(Resolution):
        @property
        def figures(self) -> Figures:
            return Figures(0, self.posted_minor, 0, -self.reserved_minor)

    def debit(self, transfer_id: str, code: str, amount_minor: int) -> None:
        """Post a debit of ``amount_minor`` for transfer ``transfer_id``."""
        self.check_can_debit(amount_minor)
        self._post(self.Debited, transfer_id, code, amount_minor)

    def credit(self, transfer_id: str, code: str, amount_minor: int) -> None:
        """Post a credit of ``amount_minor`` for transfer ``transfer_id``."""
        check_amount(amount_minor)
        self._post(self.Credited, transfer_id, code, amount_minor)

    def reserve_debit(self, transfer_id: str, code: str, amount_minor: int) -> None:
        """Reserve ``amount_minor`` of the available balance for a pending transfer."""
        self.check_can_debit(amount_minor)
        self._post(self.DebitReserved, transfer_id, code, amount_minor)

    def reserve_credit(self, transfer_id: str, code: str, amount_minor: int) -> None:
        """Record an incoming pending credit (not spendable until posted)."""
        check_amount(amount_minor)
        self._post(self.CreditReserved, transfer_id, code, amount_minor)

    def _post(
        self, event_class: type[Account.Posting], transfer_id: str, code: str, amount_minor: int
    ) -> None:
        self.trigger_event(
            event_class, transfer_id=transfer_id, code=code, amount_minor=amount_minor
        )

    def resolve_debit(
        self, transfer_id: str, code: str, reserved_minor: int, posted_minor: int
    ) -> None:
        """Release a pending debit of ``reserved_minor``, posting ``posted_minor`` of it."""
        self._check_resolution(self.debits_pending, reserved_minor, posted_minor)
        self._resolve(self.ReservedDebitResolved, transfer_id, code, reserved_minor, posted_minor)

    def resolve_credit(
        self, transfer_id: str, code: str, reserved_minor: int, posted_minor: int
    ) -> None:
        """Release a pending credit of ``reserved_minor``, posting ``posted_minor`` of it."""
        self._check_resolution(self.credits_pending, reserved_minor, posted_minor)
        self._resolve(self.ReservedCreditResolved, transfer_id, code, reserved_minor, posted_minor)

    def _resolve(
        self,
        event_class: type[Account.Resolution],
        transfer_id: str,
        code: str,
        reserved_minor: int,
        posted_minor: int,
    ) -> None:
        self.trigger_event(
            event_class,
            transfer_id=transfer_id,
            code=code,
            reserved_minor=reserved_minor,
            posted_minor=posted_minor,
        )

    @staticmethod
    def _check_resolution(pending: int, reserved_minor: int, posted_minor: int) -> None:
        check_amount(reserved_minor)
        check_amount(posted_minor, allow_zero=True)
        if reserved_minor > pending or posted_minor > reserved_minor:
            raise InvalidAmount(f"cannot post {posted_minor} of {reserved_minor} ({pending})")


class InsufficientFunds(LedgerError):
    """A debit would take a must-not-go-negative account below zero."""

    code = "insufficient_funds"

    def __init__(self, account: AccountKey, shortfall_minor: int) -> None:
        super().__init__(
            f"{account.purpose} account of {account.owner} lacks "
            f"{shortfall_minor} {account.currency} minor units"
        )
        self.account = account
        self.shortfall_minor = shortfall_minor


class CurrencyMismatch(LedgerError):
    """A transfer between accounts of different currencies (no implicit conversion)."""

    code = "currency_mismatch"


class SameAccountTransfer(LedgerError):
    """A transfer whose debit and credit account are the same."""

    code = "same_account_transfer"
