"""Ledger queries: balances, statements, and the ``ledger check`` audit."""

from __future__ import annotations

from typing import NamedTuple

from eventsourcing.utils import get_topic

from ring_ledger.base import LedgerBase
from ring_ledger.domain import (
    Account,
    AccountKey,
    Balances,
    Escrow,
    LedgerError,
    PlatformFlows,
    Statement,
    Transfer,
    Violation,
    Wallet,
    Withdrawal,
    find_violations,
)
from ring_ledger.domain.money import check_currency
from ring_ledger.domain.statement import posting_from_event
from ring_ledger.domain.wallet import wallet_uuid

_ACCOUNT_OPENED = get_topic(Account.Opened)
_ESCROW_FUNDED = get_topic(Escrow.Funded)
#: Events behind the platform's own accounts (see :func:`flow_step`).
FLOW_EVENTS: tuple[type[object], ...] = (
    Transfer.Created,
    Escrow.OrderSettled,
    Withdrawal.Requested,
    Withdrawal.Paid,
    Withdrawal.Cancelled,
)


class FlowStep(NamedTuple):
    """A :class:`PlatformFlows` step (the name of its method) and its amount."""

    step: str
    amount_minor: int
    #: The event's currency; None for an escrow's event, in the currency of its escrow.
    currency: str | None


def flow_step(event: object) -> FlowStep | None:
    """The :class:`PlatformFlows` step ``event`` makes (None: no step).

    Deposits count by their credit transfer (code ``deposit``), whichever command made it.
    """
    if isinstance(event, Transfer.Created):
        deposit = event.code == "deposit" and not event.pending
        return (
            FlowStep("deposit_confirmed", event.amount_minor, event.currency) if deposit else None
        )
    if isinstance(event, Escrow.OrderSettled):
        return FlowStep("fee_settled", event.fee_minor, None)
    if isinstance(event, Withdrawal.Requested):
        return FlowStep("payout_requested", event.amount_minor, event.currency)
    if isinstance(event, Withdrawal.Paid):
        return FlowStep("payout_paid", event.amount_minor, event.currency)
    if isinstance(event, Withdrawal.Cancelled):
        return FlowStep("payout_cancelled", event.amount_minor, event.currency)
    return None


#: Largest statement cursor: account versions are PostgreSQL bigints.
MAX_CURSOR = 2**63 - 1


class LedgerQueries(LedgerBase):
    """Read side of the ledger application (no command here changes anything)."""

    def balances(self, party_id: str, currency: str) -> Balances:
        """A party's available and reserved (pending debits + escrow) money in ``currency``."""
        account = self.get_account(AccountKey.available(party_id, check_currency(currency)))
        available = account.available if account else 0
        reserved = account.debits_pending if account else 0
        wallet = self._find(Wallet, wallet_uuid(party_id, currency))
        for task_id in wallet.escrow_task_ids if wallet else ():
            escrow_account = self.get_account(AccountKey.escrow(task_id, currency))
            reserved += escrow_account.balance if escrow_account else 0
        return Balances(party_id, currency, available, reserved)

    def statement(
        self, party_id: str, currency: str, cursor: int = 0, limit: int = 50
    ) -> Statement:
        """Postings of the party's available account after ``cursor``, oldest first."""
        if type(limit) is not int or not 1 <= limit <= 1000:
            raise InvalidPage(f"limit must be an integer in [1, 1000], got {limit!r}")
        if type(cursor) is not int or not 0 <= cursor <= MAX_CURSOR:
            raise InvalidPage(f"cursor must be an integer in [0, {MAX_CURSOR}], got {cursor!r}")
        key = AccountKey.available(party_id, check_currency(currency))
        events = list(self.events.get(key.id, gt=max(cursor, 1), limit=limit + 1))
        postings = [p for p in map(posting_from_event, events[:limit]) if p is not None]
        next_cursor = events[limit - 1].originator_version if len(events) > limit else None
        return Statement(party_id, currency, postings, next_cursor)

    def accounts(self) -> list[Account]:
        """Every account ever opened (reads the notification log; for audits and tests)."""
        return [self._load(Account, i) for i in self._created_ids(_ACCOUNT_OPENED)]

    def escrows(self) -> list[Escrow]:
        """Every task escrow ever funded."""
        return [self._load(Escrow, i) for i in self._created_ids(_ESCROW_FUNDED)]

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


class InvalidPage(LedgerError):
    """A statement page size is out of range."""

    code = "invalid_page"
