"""Task board: a PostgreSQL read model of tasks, fed exactly once from ``ring.task.events``.

The board is what ``GET /tasks`` lists: filters by status, skill, minimum commission and
currency, full-text search over title and description, newest first, cursor paging.

Events of different aggregates (a task and its orders) travel on different keys and may be
consumed in any relative order, so nothing here depends on it: each order's slot is a row of its
own, and ``slots_left`` is computed when the board is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from psycopg.sql import SQL, Composable, Composed

from ring_events.envelope import Envelope
from ring_events.task import (
    OrderAccepted,
    OrderApplied,
    OrderCancelled,
    OrderDeclined,
    OrderExpired,
    OrderSettled,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskExpired,
    TaskFundingFailed,
    TaskPublished,
    TaskPublishRequested,
)
from ring_events.topics import TASK_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor, Handler
from ring_runtime.paging import decode_position, encode_position
from ring_runtime.projection import ProjectionStore
from ring_runtime.unit_of_work import UnitOfWork


class TaskBoardRow(msgspec.Struct, frozen=True, kw_only=True):
    """One task as listed on the board."""

    id: UUID
    owner_id: UUID
    title: str
    description: str
    status: str
    commission_minor: int
    fee_minor: int
    currency: str
    slots: int
    slots_left: int
    required_skills: list[str]
    deadline: datetime
    created_at: datetime


class TaskBoardPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the board and the cursor of the next page (``None`` on the last page)."""

    items: list[TaskBoardRow]
    next_cursor: str | None


class BoardQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Filters of a board listing."""

    status: str | None = "published"
    skill: str | None = None
    min_commission: int | None = None
    currency: str | None = None
    q: str | None = None
    owner_id: UUID | None = None
    cursor: str | None = None
    limit: int = 20


class TaskBoardProjection:
    """Writes and reads the ``task_board`` table."""

    def __init__(self, store: ProjectionStore) -> None:
        self.store = store
        self.table = store.table("task_board")
        self.slots = store.table("task_board_slots")

    def ddl(self) -> list[Composed]:
        """Statements creating the board table and its indexes."""
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                "id uuid PRIMARY KEY, owner_id uuid NOT NULL, title text NOT NULL, "
                "description text NOT NULL, status text NOT NULL, "
                "commission_minor bigint NOT NULL, fee_minor bigint NOT NULL, "
                "currency char(3) NOT NULL, slots int NOT NULL, "
                "required_skills text[] NOT NULL, deadline timestamptz NOT NULL, "
                "created_at timestamptz NOT NULL, "
                "search tsvector GENERATED ALWAYS AS (to_tsvector('simple', "
                "title || ' ' || description)) STORED)"
            ).format(self.table),
            SQL("CREATE INDEX IF NOT EXISTS task_board_search ON {} USING gin (search)").format(
                self.table
            ),
            SQL(
                "CREATE INDEX IF NOT EXISTS task_board_listing ON {} (status, created_at DESC, id)"
            ).format(self.table),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (order_id uuid PRIMARY KEY, task_id uuid NOT NULL, "
                "holds_slot boolean NOT NULL)"
            ).format(self.slots),
            SQL("CREATE INDEX IF NOT EXISTS task_board_slots_task ON {} (task_id)").format(
                self.slots
            ),
        ]

    def handlers(self) -> Mapping[type[Any], Handler]:
        """Integration event type → board update."""
        return {
            TaskCreated: self._created,
            TaskPublishRequested: self._status("funding"),
            TaskPublished: self._status("published"),
            TaskFundingFailed: self._status("funding_failed"),
            TaskCancelled: self._status("cancelled"),
            TaskExpired: self._status("expired"),
            TaskCompleted: self._status("completed"),
            OrderApplied: self._slot_taken,
            OrderAccepted: self._noop,
            OrderDeclined: self._slot_freed,
            OrderExpired: self._slot_freed,
            OrderCancelled: self._slot_freed,
            OrderSettled: self._noop,
        }

    def processor(self) -> ExactlyOnceProcessor:
        """The exactly-once consumer keeping the board up to date."""
        return ExactlyOnceProcessor("task-board", TASK_EVENTS, self.store, self.handlers())

    # -- updates ---------------------------------------------------------------------------

    def _created(self, event: TaskCreated, envelope: Envelope, unit: UnitOfWork) -> None:
        unit.connection.execute(
            SQL(
                "INSERT INTO {} (id, owner_id, title, description, status, commission_minor, "
                "fee_minor, currency, slots, required_skills, deadline, created_at) "
                "VALUES (%s, %s, %s, %s, 'draft', %s, %s, %s, %s, %s, %s, %s)"
            ).format(self.table),
            (
                event.task_id,
                event.owner_id,
                event.title,
                event.description,
                event.commission_minor,
                event.fee_minor,
                event.currency,
                event.slots,
                list(event.required_skills),
                event.deadline,
                envelope.occurred_at,
            ),
        )

    def _status(self, status: str) -> Handler:
        def update(event: Any, _: Envelope, unit: UnitOfWork) -> None:
            unit.connection.execute(
                SQL("UPDATE {} SET status = %s WHERE id = %s").format(self.table),
                (status, event.task_id),
            )

        return update

    def _slot_taken(self, event: OrderApplied, _: Envelope, unit: UnitOfWork) -> None:
        self._hold(unit, event.order_id, event.task_id, holds_slot=True)

    def _slot_freed(self, event: Any, _: Envelope, unit: UnitOfWork) -> None:
        self._hold(unit, event.order_id, event.task_id, holds_slot=False)

    def _noop(self, event: Any, _: Envelope, unit: UnitOfWork) -> None:
        """Events that do not change the board still advance its position."""

    def _hold(self, unit: UnitOfWork, order_id: UUID, task_id: UUID, *, holds_slot: bool) -> None:
        unit.connection.execute(
            SQL(
                "INSERT INTO {} (order_id, task_id, holds_slot) VALUES (%s, %s, %s) "
                "ON CONFLICT (order_id) DO UPDATE SET holds_slot = EXCLUDED.holds_slot"
            ).format(self.slots),
            (order_id, task_id, holds_slot),
        )

    # -- reads -----------------------------------------------------------------------------

    def list(self, query: BoardQuery) -> TaskBoardPage:
        """One page of the board, newest first."""
        clauses: list[Composable] = []
        params: list[Any] = []
        if query.status:
            clauses.append(SQL("status = %s"))
            params.append(query.status)
        if query.skill:
            clauses.append(SQL("%s = ANY(required_skills)"))
            params.append(query.skill)
        if query.min_commission is not None:
            clauses.append(SQL("commission_minor >= %s"))
            params.append(query.min_commission)
        if query.currency:
            clauses.append(SQL("currency = %s"))
            params.append(query.currency)
        if query.owner_id:
            clauses.append(SQL("owner_id = %s"))
            params.append(query.owner_id)
        if query.q:
            clauses.append(SQL("search @@ websearch_to_tsquery('simple', %s)"))
            params.append(query.q)
        if query.cursor:
            created_at, last_id = decode_position(query.cursor)
            clauses.append(SQL("(created_at, id) < (%s, %s)"))
            params.extend([created_at, last_id])
        where = SQL(" WHERE ") + SQL(" AND ").join(clauses) if clauses else SQL("")
        statement = (
            SQL(
                "SELECT id, owner_id, title, description, status, commission_minor, fee_minor, "
                "currency, slots, slots - (SELECT count(*) FROM {slots} s "
                "WHERE s.task_id = b.id AND s.holds_slot) AS slots_left, "
                "required_skills, deadline, created_at FROM {board} b"
            ).format(slots=self.slots, board=self.table)
            + where
            + SQL(" ORDER BY created_at DESC, id DESC LIMIT %s")
        )
        params.append(query.limit + 1)
        with self.store.reading() as conn:
            rows = conn.execute(statement, params).fetchall()
        items = [TaskBoardRow(**{**row, "currency": row["currency"].strip()}) for row in rows]
        page, more = items[: query.limit], len(items) > query.limit
        cursor = encode_position(page[-1].created_at, page[-1].id) if more and page else None
        return TaskBoardPage(items=page, next_cursor=cursor)
