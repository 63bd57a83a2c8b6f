"""``ring ledger check``: the audit, incremental from a checkpoint, or full.

The invariants (:mod:`ring_ledger.domain.audit`) are evaluated over the books
(:mod:`ring_ledger.projections`), read in one consistent state: a few queries, however long the
history. The books are then verified against the log itself: every account and escrow touched
since the last clean check (all of them with ``full``) is loaded from the event store, at the
version the books hold, and compared figure by figure. A clean run moves the checkpoint to the
position it verified; a failing run leaves it, so the failure is reported again until fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from psycopg.sql import SQL

from ring_ledger.application import Ledger
from ring_ledger.domain import Account, Escrow, Violation, find_violations
from ring_ledger.projections import (
    BOOKED_AGGREGATE_EVENTS,
    POSTING_EVENTS,
    AccountRow,
    BooksProjection,
    EscrowRow,
)

#: Wraps the ids a check verifies (``click.progressbar`` in the CLI); yields them back.
Progress = Callable[[list[UUID]], AbstractContextManager[Iterable[UUID]]]

#: Name of the checkpoint row of ``ring ledger check``.
CHECKPOINT = "ledger-check"


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What one check found, and the range of the log it verified."""

    violations: list[Violation]
    accounts: int
    escrows: int
    verified: int
    from_position: int
    to_position: int
    full: bool


class LedgerCheck:
    """Runs ``ring ledger check`` over the books and keeps its checkpoint."""

    def __init__(self, ledger: Ledger, books: BooksProjection) -> None:
        self.ledger = ledger
        self.books = books
        self.table = books.checkpoints_table
        self._topics = [get_topic(cls) for cls in (*POSTING_EVENTS, *BOOKED_AGGREGATE_EVENTS)]

    def run(self, *, full: bool = False, progress: Progress | None = None) -> CheckReport:
        """Check the invariants, and verify the books against the log since the checkpoint."""
        with self.books.reading() as conn:
            position = self.books.follower_position(conn)
            accounts = {row.id: row for row in self.books.accounts(conn)}
            escrows = {row.id: row for row in self.books.escrows(conn)}
            violations = find_violations(
                accounts.values(), escrows.values(), self.books.flows(conn)
            )
            start = 0 if full else self._checkpoint(conn)
        touched = [*accounts, *escrows] if full else list(self._touched_between(start, position))
        with (progress or nullcontext)(touched) as ids:
            for aggregate_id in ids:
                violations += self._verify(aggregate_id, accounts, escrows)
        if not violations:
            with self.books.store.reading() as conn:
                conn.execute(
                    SQL(
                        "INSERT INTO {} (name, notification_id) VALUES (%s, %s) "
                        "ON CONFLICT (name) DO UPDATE SET notification_id = "
                        "EXCLUDED.notification_id, checked_at = now()"
                    ).format(self.table),
                    (CHECKPOINT, position),
                )
        return CheckReport(
            violations, len(accounts), len(escrows), len(touched), start, position, full
        )

    def _checkpoint(self, conn: Any) -> int:
        row = conn.execute(
            SQL("SELECT notification_id FROM {} WHERE name = %s").format(self.table),
            (CHECKPOINT,),
        ).fetchone()
        return int(row["notification_id"]) if row else 0

    def _touched_between(self, start: int, end: int) -> Iterator[UUID]:
        seen: set[UUID] = set()
        while start < end:
            notifications = self.ledger.recorder.select_notifications(
                start, 1_000, stop=end, topics=self._topics, inclusive_of_start=False
            )
            if not notifications:
                return
            for notification in notifications:
                aggregate_id = UUID(str(notification.originator_id))
                if aggregate_id not in seen:
                    seen.add(aggregate_id)
                    yield aggregate_id
            start = notifications[-1].id

    def _verify(
        self, aggregate_id: UUID, accounts: dict[UUID, AccountRow], escrows: dict[UUID, EscrowRow]
    ) -> list[Violation]:
        row: AccountRow | EscrowRow | None = accounts.get(aggregate_id) or escrows.get(aggregate_id)
        if row is None:
            return [Violation("books_mismatch", str(aggregate_id), "in the log, not in the books")]
        logged: Any = self.ledger.repository.get(aggregate_id, version=row.version)
        found: tuple[int, ...]
        books: tuple[int, ...]
        if isinstance(row, AccountRow):
            assert isinstance(logged, Account)
            found = (logged.debits_posted, logged.credits_posted)
            found += (logged.debits_pending, logged.credits_pending)
            books, subject = row.figures(), str(row.key)
        else:
            assert isinstance(logged, Escrow)
            found, books = (logged.open_slots, logged.slot_minor), (row.open_slots, row.slot_minor)
            subject = f"task {row.task_id}"
        if found == books:
            return []
        return [Violation("books_mismatch", subject, f"books say {books}, the log says {found}")]
