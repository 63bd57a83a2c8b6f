"""The admin queue and the response-deadline timers, fed from the service's own events.

An :class:`~ring_runtime.local_projection.OwnEventsFollower` applies each dispute event to
the ``dispute_queue`` table and schedules (or cancels) the escalation timer in the same
transaction as its position, so a timer is neither lost nor doubled across restarts
(decision 0005). ``overdue`` is computed at read time from the injected clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from eventsourcing.domain import Aggregate
from psycopg.sql import SQL, Composed

from ring_dispute.domain import Dispute, DisputeStatus
from ring_runtime.paging import decode_position, encode_position
from ring_runtime.projection import ProjectionStore
from ring_runtime.timers import Clock, DurableTimers

#: Purpose of the timer escalating a dispute whose response deadline passed.
ESCALATE = "dispute.escalate"

Connection = psycopg.Connection[dict[str, Any]]
#: Applies one of the service's own events to the queue, in the caller's transaction.
OwnEventHandler = Callable[[Aggregate.Event, Connection], None]


class QueueEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the admin queue."""

    id: UUID
    order_id: UUID
    task_id: UUID
    owner_id: UUID
    provider_id: UUID
    opened_by: UUID
    category: str
    status: str
    opened_at: datetime
    response_due: datetime
    arbitration_due: datetime | None
    overdue: bool


class DisputePage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the queue and the cursor of the next page (``None`` on the last page)."""

    items: list[QueueEntry]
    next_cursor: str | None


class DisputeQueue:
    """Writes (from own events) and reads the ``dispute_queue`` table."""

    def __init__(self, store: ProjectionStore, timers: DurableTimers, clock: Clock) -> None:
        self.store = store
        self.timers = timers
        self.clock = clock
        self.table = store.table("dispute_queue")

    def ddl(self) -> list[Composed]:
        """Statement creating the queue table."""
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, order_id uuid NOT NULL, "
                "task_id uuid NOT NULL, owner_id uuid NOT NULL, provider_id uuid NOT NULL, "
                "opened_by uuid NOT NULL, category text NOT NULL, status text NOT NULL, "
                "opened_at timestamptz NOT NULL, response_due timestamptz NOT NULL, "
                "arbitration_due timestamptz)"
            ).format(self.table)
        ]

    def handlers(self) -> Mapping[type[Any], Any]:
        """Own domain event → queue row update (and escalation timer)."""
        return {
            Dispute.Opened: self._opened,
            Dispute.Responded: self._status(DisputeStatus.RESPONDED),
            Dispute.Escalated: self._escalated,
            Dispute.Resolved: self._closed(DisputeStatus.RESOLVED),
            Dispute.Withdrawn: self._closed(DisputeStatus.WITHDRAWN),
        }

    def _opened(self, e: Dispute.Opened, conn: Connection) -> None:
        conn.execute(
            SQL(
                "INSERT INTO {} VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL) "
                "ON CONFLICT (id) DO NOTHING"
            ).format(self.table),
            (
                e.originator_id,
                e.order_id,
                e.task_id,
                e.owner_id,
                e.provider_id,
                e.opened_by,
                e.category,
                DisputeStatus.OPEN.value,
                e.at,
                e.response_due,
            ),
        )
        self.timers.schedule(ESCALATE, e.originator_id, e.response_due, conn)

    def _status(self, status: DisputeStatus) -> OwnEventHandler:
        def apply(e: Aggregate.Event, conn: Connection) -> None:
            conn.execute(
                SQL("UPDATE {} SET status = %s WHERE id = %s").format(self.table),
                (status.value, e.originator_id),
            )

        return apply

    def _escalated(self, e: Dispute.Escalated, conn: Connection) -> None:
        conn.execute(
            SQL("UPDATE {} SET status = %s, arbitration_due = %s WHERE id = %s").format(self.table),
            (DisputeStatus.ARBITRATION.value, e.arbitration_due, e.originator_id),
        )
        self.timers.cancel(ESCALATE, e.originator_id, conn)

    def _closed(self, status: DisputeStatus) -> OwnEventHandler:
        set_status = self._status(status)

        def apply(e: Aggregate.Event, conn: Connection) -> None:
            set_status(e, conn)
            self.timers.cancel(ESCALATE, e.originator_id, conn)

        return apply

    def list(
        self,
        *,
        status: str | None = None,
        overdue: bool | None = None,
        party_id: UUID | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> DisputePage:
        """One page of the queue, oldest first; ``overdue`` is judged on the clock's now.

        ``party_id`` narrows it to the disputes of that party's orders (as owner or provider).

        Raises:
            InvalidCursor: ``cursor`` was not made by this listing.
        """
        params: dict[str, Any] = {"now": self.clock.now(), "status": status, "party": party_id}
        overdue_sql = SQL("(status = 'arbitration' AND COALESCE(arbitration_due < %(now)s, FALSE))")
        where: list[SQL | Composed] = [SQL("TRUE")]
        if status:
            where.append(SQL("status = %(status)s"))
        if overdue is True:
            where.append(overdue_sql)
        elif overdue is False:
            where.append(SQL("NOT ") + overdue_sql)
        if party_id:
            where.append(SQL("(owner_id = %(party)s OR provider_id = %(party)s)"))
        if cursor:
            params["after_at"], params["after_id"] = decode_position(cursor)
            where.append(SQL("(opened_at, id) > (%(after_at)s, %(after_id)s)"))
        params["limit"] = limit + 1
        query = SQL(
            "SELECT *, {} AS overdue FROM {} WHERE {} ORDER BY opened_at, id LIMIT %(limit)s"
        ).format(overdue_sql, self.table, SQL(" AND ").join(where))
        with self.store.reading() as conn:
            rows = conn.execute(query, params).fetchall()
        entries = [QueueEntry(**row) for row in rows]
        page, more = entries[:limit], len(entries) > limit
        following = encode_position(page[-1].opened_at, page[-1].id) if more else None
        return DisputePage(items=page, next_cursor=following)
