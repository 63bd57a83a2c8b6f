"""Ledger queries: balances, statements, and the ``ledger check`` audit."""

from __future__ import annotations

from eventsourcing.utils import get_topic

from ring_ledger.base import LedgerBase
from ring_ledger.domain import (
    Account,
    AccountKey,
    Balances,
    Escrow,
    LedgerError,
    Statement,
    Violation,
    Wallet,
    find_violations,
)
from ring_ledger.domain.money import check_currency
from ring_ledger.domain.statement import posting_from_event
from ring_ledger.domain.wallet import wallet_uuid

_ACCOUNT_OPENED = get_topic(Account.Opened)  # type: ignore[attr-defined]
_ESCROW_FUNDED = get_topic(Escrow.Funded)  # type: ignore[attr-defined]
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

    def check(self) -> list[Violation]:
        """Audit the whole ledger (``ring ledger check``); an empty list means all is well."""
        return find_violations(self.accounts(), self.escrows())


class InvalidPage(LedgerError):
    """A statement page size is out of range."""

    code = "invalid_page"
