"""Ledger application: the ledger-service's one event-sourced application.

Every command loads the aggregates it touches, applies domain rules, and saves all of them in ONE
``save()`` — atomic in ``eventsourcing``: all events are recorded or none. If another command
changed one of those aggregates meanwhile, the save fails with ``IntegrityError`` on the event
store's optimistic concurrency and the command is re-run from fresh state
(:func:`ring_runtime.concurrency.retrying`), so concurrent transfers can never overdraw an
account. Inside a consumer that single save also carries the consumer's tracking position.

Commands are written in two halves: a *step* decides and returns a
:class:`~ring_ledger.steps.Staged` result (the result plus every aggregate it changed, nothing
saved yet), and :meth:`Ledger.commit` saves those aggregates in ONE ``save()``. The steps are
plain functions: the money movements in :mod:`ring_ledger.steps`, the SettlementSaga (trigger,
steps, postings, compensation) in :mod:`ring_ledger.settlement`. This class is the one place
holding the commands production runs; it has no mixins, so reading it top to bottom shows them
all: the saga's steps, deposits through the payment provider (:mod:`ring_ledger.payments` is
the provider port), payouts, and the reads.

Idempotency keys become deterministic aggregate ids (see :mod:`ring_ledger.domain.ids`): a
repeated deposit, hold, settlement, release or withdrawal finds what the first one recorded and
returns the original result. A *rejected* command (a :class:`LedgerError`, or ``Rejected`` from
:meth:`Ledger.request_funding`) records nothing, so it can be retried later with the same key.

Configuration: ``RING_WITHDRAWAL_CLEARANCE_HOURS`` (default 24) is how long a payout waits
between request and payment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, Transcoding
from eventsourcing.utils import get_topic

from ring_ledger import settlement, steps
from ring_ledger.domain import (
    Account,
    AccountKey,
    Balances,
    Deposit,
    DepositNotFound,
    DepositStatus,
    Escrow,
    EscrowNotFound,
    PlatformFlows,
    Purpose,
    Rejected,
    Release,
    Reserved,
    Settlement,
    SettlementSaga,
    Statement,
    Transfer,
    TransferNotFound,
    Violation,
    Wallet,
    Withdrawal,
    WithdrawalNotFound,
    WithdrawalStatus,
    find_violations,
)
from ring_ledger.domain.deposit import deposit_uuid
from ring_ledger.domain.escrow import escrow_uuid
from ring_ledger.domain.money import check_amount, check_currency, check_supported_currency
from ring_ledger.domain.saga import saga_uuid
from ring_ledger.domain.statement import posting_from_event
from ring_ledger.domain.transfers import transfer_uuid
from ring_ledger.domain.wallet import wallet_uuid
from ring_ledger.domain.withdrawal import withdrawal_transfer_id, withdrawal_uuid
from ring_ledger.payments import PaymentProvider, SimulatedProvider, check_idempotency_key
from ring_ledger.queries import FLOW_EVENTS, MAX_CURSOR, InvalidPage, flow_step
from ring_ledger.steps import Staged
from ring_runtime.concurrency import retrying
from ring_runtime.store import RingApplication
from ring_runtime.unit_of_work import UnitOfWork

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)

#: Events between two snapshots of an account or an escrow.
SNAPSHOT_INTERVAL = 50

#: Default clearance period of a payout, in hours (``RING_WITHDRAWAL_CLEARANCE_HOURS``).
DEFAULT_CLEARANCE_HOURS = "24"

_ACCOUNT_OPENED = get_topic(Account.Opened)
_ESCROW_FUNDED = get_topic(Escrow.Funded)
_WITHDRAWAL_REQUESTED = get_topic(Withdrawal.Requested)


class Ledger(RingApplication):
    """The double-entry ledger of Ring: deposits, task escrow, settlement, payouts."""

    #: Busy aggregates get a snapshot every N events, so loading one never replays its history.
    snapshotting_intervals: ClassVar[dict[Any, int]] = {
        Account: SNAPSHOT_INTERVAL,
        Escrow: SNAPSHOT_INTERVAL,
    }

    #: The port deposits are charged through; set by the service wiring (:mod:`ring_ledger.config`).
    payment_provider: PaymentProvider = SimulatedProvider()

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        hours = self.env.get("RING_WITHDRAWAL_CLEARANCE_HOURS", DEFAULT_CLEARANCE_HOURS)
        if not hours.isdigit():
            raise ValueError(f"RING_WITHDRAWAL_CLEARANCE_HOURS must be whole hours, got {hours!r}")
        self.withdrawal_clearance = timedelta(hours=int(hours))

    def lifecycle_of(self, obj: object) -> UUID | None:
        """A task's escrow carries the task's lifecycle (it was funded under the task's
        correlation); accounts are shared by many transactions and carry none."""
        return obj.id if isinstance(obj, Escrow) else None

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """Also transcode the value objects an escrow snapshot holds (its outcomes, releases)."""
        super().register_transcodings(transcoder)
        transcoder.register(_ValueObjectAsDict(Settlement, "ledger_settlement"))
        transcoder.register(_ValueObjectAsDict(Release, "ledger_release"))

    # ----------------------------------------------------------------- the SettlementSaga

    def request_funding(
        self,
        task_id: UUID,
        owner_id: UUID,
        slots: int,
        commission_minor: int,
        fee_minor: int,
        currency: str,
        *,
        unit: UnitOfWork | None = None,
    ) -> Reserved | Rejected | None:
        """Saga step ``reserve_escrow`` (see :func:`ring_ledger.settlement.request_funding`)."""
        return retrying(
            lambda: self.commit(
                settlement.request_funding(
                    self, str(task_id), str(owner_id), slots, commission_minor, fee_minor, currency
                ),
                unit=unit,
            )
        )

    def settle_commission(
        self,
        task_id: UUID,
        order_id: UUID,
        provider_id: UUID,
        commission_minor: int,
        fee_minor: int,
        *,
        unit: UnitOfWork | None = None,
    ) -> Settlement:
        """Saga step ``settle_commission`` (see :func:`ring_ledger.settlement.settle_commission`)."""
        return retrying(
            lambda: self.commit(
                settlement.settle_commission(
                    self, str(task_id), str(order_id), str(provider_id), commission_minor, fee_minor
                ),
                unit=unit,
            )
        )

    def execute_dispute_outcome(
        self,
        task_id: UUID,
        order_id: UUID,
        provider_id: UUID,
        provider_share_percent: int,
        *,
        unit: UnitOfWork | None = None,
    ) -> Settlement:
        """Saga step ``execute_outcome`` (see :func:`ring_ledger.settlement.execute_outcome`)."""
        return retrying(
            lambda: self.commit(
                settlement.execute_outcome(
                    self, str(task_id), str(order_id), str(provider_id), provider_share_percent
                ),
                unit=unit,
            )
        )

    def release_unused_escrow(
        self, task_id: UUID, reason: str, *, unit: UnitOfWork | None = None
    ) -> Release | None:
        """Compensation ``release_unused`` (see :func:`ring_ledger.settlement.release_unused`)."""
        return retrying(
            lambda: self.commit(settlement.release_unused(self, str(task_id), reason), unit=unit)
        )

    def get_saga(self, task_id: UUID) -> SettlementSaga | None:
        """The saga of ``task_id``, or None if its publication was never requested."""
        return self.find(SettlementSaga, saga_uuid(str(task_id)))

    # ----------------------------------------------------------------- deposits

    def create_deposit(
        self, party_id: UUID, amount_minor: int, currency: str, idempotency_key: str
    ) -> Deposit:
        """Start (or, for a known key, return) a deposit; credit it if confirmed at once.

        ``Idempotency-Key`` is honoured end to end: the deposit id derives from party and key,
        the provider is charged with that id as its reference, and a repeated request returns
        the deposit the first one created.
        """
        check_amount(amount_minor)
        check_supported_currency(currency, self.currencies)
        check_idempotency_key(idempotency_key)

        party = str(party_id)

        def command() -> Deposit:
            deposit_id = deposit_uuid(party, idempotency_key)
            deposit = self.find(Deposit, deposit_id)
            if deposit is not None:
                deposit.check_same_request(amount_minor, currency)
                return deposit
            charge = self.payment_provider.charge(deposit_id, party, amount_minor, currency)
            deposit = Deposit(
                party_id=party,
                idempotency_key=idempotency_key,
                amount_minor=amount_minor,
                currency=currency,
                provider=charge.provider,
                provider_reference=charge.reference,
            )
            staged = self._decide(deposit, succeeded=True) if charge.confirmed else Staged(None)
            self.commit(Staged(None, (deposit, *staged.changes)))
            return deposit

        return retrying(command)

    def confirm_deposit(self, reference: str, *, succeeded: bool, reason: str = "") -> Deposit:
        """The provider's verdict on a pending deposit (idempotent for the same verdict)."""

        def command() -> Deposit:
            deposit = self.get_deposit(reference)
            wanted = DepositStatus.CONFIRMED if succeeded else DepositStatus.FAILED
            if deposit.status is wanted:
                return deposit
            self.commit(self._decide(deposit, succeeded=succeeded, reason=reason))
            return deposit

        return retrying(command)

    def get_deposit(self, reference: str) -> Deposit:
        """The deposit with id (= provider reference) ``reference``."""
        try:
            deposit = self.find(Deposit, UUID(reference))
        except ValueError:
            deposit = None
        if deposit is None:
            raise DepositNotFound(f"no deposit with reference {reference!r}")
        return deposit

    def _decide(self, deposit: Deposit, *, succeeded: bool, reason: str = "") -> Staged[None]:
        if not succeeded:
            deposit.fail(reason or "the payment provider declined the payment")
            return Staged(None, (deposit,))
        deposit.confirm()
        credit = steps.stage_deposit_credit(
            self, deposit.party_id, deposit.amount_minor, deposit.currency, str(deposit.id)
        )
        return Staged(None, (deposit, *credit.changes))

    # ----------------------------------------------------------------- payouts

    def request_withdrawal(
        self,
        party_id: UUID,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        now: datetime | None = None,
    ) -> Withdrawal:
        """Reserve a payout of ``amount_minor`` (or return the one made with this key).

        The amount is reserved (a pending transfer, never more than available) together with
        the :class:`~ring_ledger.domain.Withdrawal` in one save. Once ``clears_at`` has passed,
        :meth:`complete_withdrawal` posts it: a durable timer does so automatically
        (:mod:`ring_ledger.payout_timers`); operators can also run it
        (``POST /withdrawals/{id}/complete``, or ``ring ledger payouts`` for every due one).
        Until then the party may cancel it, which voids the reservation.
        """
        check_amount(amount_minor)
        check_supported_currency(currency, self.currencies)
        check_idempotency_key(idempotency_key)
        at = _at(now)
        party = str(party_id)

        def command() -> Withdrawal:
            withdrawal_id = withdrawal_uuid(party, idempotency_key)
            withdrawal = self.find(Withdrawal, withdrawal_id)
            if withdrawal is not None:
                withdrawal.check_same_request(amount_minor, currency)
                return withdrawal
            reservation = steps.stage_transfer(
                self,
                withdrawal_transfer_id(withdrawal_id),
                AccountKey.available(party, currency),
                AccountKey.platform(Purpose.PAYOUT_CLEARING, currency),
                amount_minor,
                "withdrawal",
                pending=True,
            )
            withdrawal = Withdrawal(
                party_id=party,
                idempotency_key=idempotency_key,
                amount_minor=amount_minor,
                currency=currency,
                clears_at=at + self.withdrawal_clearance,
            )
            self.commit(Staged(None, (withdrawal, *reservation.changes)))
            return withdrawal

        return retrying(command)

    def complete_withdrawal(self, withdrawal_id: UUID, now: datetime | None = None) -> Withdrawal:
        """Pay a cleared payout (idempotent: a paid one is returned as it is)."""
        at = _at(now)

        def command() -> Withdrawal:
            withdrawal = self.get_withdrawal(withdrawal_id)
            if withdrawal.status is WithdrawalStatus.PAID:
                return withdrawal
            withdrawal.pay(at)
            posting = steps.stage_post_pending(self, withdrawal.transfer_id)
            self.commit(Staged(None, (withdrawal, *posting.changes)))
            return withdrawal

        return retrying(command)

    def cancel_withdrawal(self, withdrawal_id: UUID, party_id: UUID) -> Withdrawal:
        """``party_id`` cancels its unpaid payout: the amount is available again (idempotent).

        Only the party that requested the payout may cancel it; the check reads the same
        withdrawal the command changes, so the request loads it once.
        """

        def command() -> Withdrawal:
            withdrawal = self.get_withdrawal(withdrawal_id)
            withdrawal.check_holder(str(party_id))
            if withdrawal.status is WithdrawalStatus.CANCELLED:
                return withdrawal
            withdrawal.cancel()
            voiding = steps.stage_void_pending(self, withdrawal.transfer_id)
            self.commit(Staged(None, (withdrawal, *voiding.changes)))
            return withdrawal

        return retrying(command)

    def get_withdrawal(self, withdrawal_id: UUID) -> Withdrawal:
        """The withdrawal ``withdrawal_id``."""
        withdrawal = self.find(Withdrawal, withdrawal_id)
        if withdrawal is None:
            raise WithdrawalNotFound(f"no withdrawal {withdrawal_id}")
        return withdrawal

    def due_withdrawals(self, now: datetime | None = None) -> list[Withdrawal]:
        """Requested payouts whose clearance period is over, oldest first."""
        at = _at(now)
        found = (self.get_withdrawal(i) for i in self._created_ids(_WITHDRAWAL_REQUESTED))
        return [withdrawal for withdrawal in found if withdrawal.is_due(at)]

    def pay_due_withdrawals(self, now: datetime | None = None) -> list[Withdrawal]:
        """Complete every due payout (what ``ring ledger payouts`` runs)."""
        at = _at(now)
        return [self.complete_withdrawal(w.id, at) for w in self.due_withdrawals(at)]

    # ----------------------------------------------------------------- reads

    def balances(self, party_id: UUID, currency: str) -> Balances:
        """A party's available and reserved (pending debits + escrow) money in ``currency``."""
        party = str(party_id)
        account = self.get_account(AccountKey.available(party, check_currency(currency)))
        available = account.available if account else 0
        reserved = account.debits_pending if account else 0
        wallet = self.find(Wallet, wallet_uuid(party, currency))
        for task_id in wallet.escrow_task_ids if wallet else ():
            escrow_account = self.get_account(AccountKey.escrow(task_id, currency))
            reserved += escrow_account.balance if escrow_account else 0
        return Balances(party, currency, available, reserved)

    def statement(
        self, party_id: UUID, currency: str, cursor: int = 0, limit: int = 50
    ) -> Statement:
        """Postings of the party's available account after ``cursor``, oldest first."""
        if type(limit) is not int or not 1 <= limit <= 1000:
            raise InvalidPage(f"limit must be an integer in [1, 1000], got {limit!r}")
        if type(cursor) is not int or not 0 <= cursor <= MAX_CURSOR:
            raise InvalidPage(f"cursor must be an integer in [0, {MAX_CURSOR}], got {cursor!r}")
        party = str(party_id)
        key = AccountKey.available(party, check_currency(currency))
        events = list(self.events.get(key.id, gt=max(cursor, 1), limit=limit + 1))
        postings = [p for p in map(posting_from_event, events[:limit]) if p is not None]
        next_cursor = events[limit - 1].originator_version if len(events) > limit else None
        return Statement(party, currency, postings, next_cursor)

    def accounts(self) -> list[Account]:
        """Every account ever opened (reads the notification log; for audits and tests)."""
        return [self.load(Account, i) for i in self._created_ids(_ACCOUNT_OPENED)]

    def escrows(self) -> list[Escrow]:
        """Every task escrow ever funded."""
        return [self.load(Escrow, i) for i in self._created_ids(_ESCROW_FUNDED)]

    def platform_flows(self) -> list[PlatformFlows]:
        """What the platform's own accounts must mirror, folded from the whole log."""
        escrows = {escrow.id: escrow.currency for escrow in self.escrows()}
        flows: dict[str, PlatformFlows] = {}
        topics = [get_topic(cls) for cls in FLOW_EVENTS]
        start = 1
        while notifications := self.recorder.select_notifications(start, 500, topics=topics):
            for notification in notifications:
                event = self.mapper.to_domain_event(notification)
                step = flow_step(event)
                if step is not None:
                    currency = step.currency or escrows[event.originator_id]
                    flow = flows.setdefault(currency, PlatformFlows(currency))
                    getattr(flow, step.step)(step.amount_minor)
            start = notifications[-1].id + 1
        return list(flows.values())

    def check(self) -> list[Violation]:
        """Audit the whole ledger from its aggregates; an empty list means all is well.

        Loads everything: for tests and small ledgers. ``ring ledger check`` reads the books
        instead (:mod:`ring_ledger.checks`).
        """
        return find_violations(self.accounts(), self.escrows(), self.platform_flows())

    def get_account(self, key: AccountKey) -> Account | None:
        """The account named by ``key``, or None if it was never opened."""
        return self.find(Account, key.id)

    def get_escrow(self, task_id: UUID) -> Escrow | None:
        """The escrow funded for ``task_id``, or None."""
        return self.find(Escrow, escrow_uuid(str(task_id)))

    # ----------------------------------------------------------------- plumbing

    def commit(self, staged: Staged[T], *, unit: UnitOfWork | None = None) -> T:
        """Save every aggregate ``staged`` changed in one atomic save (recording ``unit``'s
        tracking, for a consumed message); return its result."""
        if staged.changes:
            self.save(*staged.changes, unit=unit)
        return staged.result

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """The ``cls`` aggregate ``aggregate_id``, or None if there is none of that kind."""
        try:
            return self.load(cls, aggregate_id)
        except AggregateNotFoundError:
            return None

    def load(self, cls: type[A], aggregate_id: UUID) -> A:
        """The ``cls`` aggregate ``aggregate_id``; ``AggregateNotFoundError`` if there is none."""
        aggregate: Any = self.repository.get(aggregate_id)
        if not isinstance(aggregate, cls):  # an id of another kind of aggregate
            raise AggregateNotFoundError(aggregate_id)
        return aggregate

    def require_transfer(self, transfer_id: str) -> Transfer:
        """The transfer ``transfer_id``, or :class:`TransferNotFound`."""
        transfer = self.find(Transfer, transfer_uuid(transfer_id))
        if transfer is None:
            raise TransferNotFound(f"no transfer {transfer_id!r}")
        return transfer

    def require_escrow(self, task_id: str) -> Escrow:
        """The escrow of ``task_id`` (as the domain records it), or :class:`EscrowNotFound`."""
        escrow = self.find(Escrow, escrow_uuid(task_id))
        if escrow is None:
            raise EscrowNotFound(f"no escrow was funded for task {task_id!r}")
        return escrow

    def _created_ids(self, topic: str, page: int = 500) -> Iterator[UUID]:
        start = 1
        while notifications := self.recorder.select_notifications(start, page, topics=[topic]):
            for notification in notifications:
                yield UUID(str(notification.originator_id))
            start = notifications[-1].id + 1


class _ValueObjectAsDict(Transcoding):
    """A frozen dataclass of plain fields as the dict of its fields.

    Events never carry these objects, but an escrow's state does, and without a transcoding the
    snapshot taken every :data:`SNAPSHOT_INTERVAL` events failed after its events were saved.
    """

    def __init__(self, cls: type[Any], name: str) -> None:
        self.type = cls
        self.name = name

    def encode(self, obj: Any) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


def _at(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


__all__ = [
    "SNAPSHOT_INTERVAL",
    "InvalidPage",
    "Ledger",
]
