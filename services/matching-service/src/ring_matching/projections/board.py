"""The task board providers browse, built exactly once from ``ring.task.events``.

``board_tasks`` holds one row per task with a weighted PostgreSQL ``tsvector`` (title weighs
more than description and requirements); ``board_orders`` records which orders hold a slot.
Slots left are computed at read time from ``board_orders``, so an order event arriving before
its task's events (they travel under different keys) is never lost.

Listing: filters (status, skill, minimum commission, currency, deadline window, owner, only
tasks with a free slot), full-text query (``websearch_to_tsquery``, ``simple`` configuration),
sorting (``newest``, ``commission`` high first, ``deadline`` soonest first) and keyset paging
with an opaque cursor.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec
from psycopg.sql import SQL, Composable, Composed

from ring_events.envelope import Envelope
from ring_events.task import (
    OrderApplied,
    OrderCancelled,
    OrderDeclined,
    OrderEvent,
    OrderExpired,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskExpired,
    TaskFundingFailed,
    TaskPublished,
    TaskPublishRequested,
)
from ring_events.topics import TASK_EVENTS
from ring_matching.domain import normalize_skills
from ring_runtime.consumer import ExactlyOnceProcessor, Handler
from ring_runtime.paging import InvalidCursor, decode_cursor, encode_cursor
from ring_runtime.projection import ProjectionStore
from ring_runtime.unit_of_work import UnitOfWork


class BoardSort(StrEnum):
    """Orders of a board listing."""

    NEWEST = "newest"
    COMMISSION = "commission"
    DEADLINE = "deadline"


#: Sort → (column, descending?). Ties are broken by task id in the same direction.
_ORDERING: dict[BoardSort, tuple[str, bool]] = {
    BoardSort.NEWEST: ("created_at", True),
    BoardSort.COMMISSION: ("commission_minor", True),
    BoardSort.DEADLINE: ("deadline", False),
}


class BoardTask(msgspec.Struct, frozen=True, kw_only=True):
    """One task as listed on the board."""

    id: UUID
    owner_id: UUID
    title: str
    description: str
    requirements: str
    status: str
    commission_minor: int
    currency: str
    slots: int
    slots_left: int
    required_skills: list[str]
    deadline: datetime
    created_at: datetime


class BoardPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the board and the cursor of the next page (``None`` on the last page)."""

    items: list[BoardTask]
    next_cursor: str | None


class BoardQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Filters, order and page of a board listing."""

    status: str | None = "published"
    skill: str | None = None
    min_commission: int | None = None
    currency: str | None = None
    deadline_after: datetime | None = None
    deadline_before: datetime | None = None
    owner_id: UUID | None = None
    open_only: bool = True
    q: str | None = None
    sort: BoardSort = BoardSort.NEWEST
    cursor: str | None = None
    limit: int = 20


class BoardProjection:
    """Writes ``board_tasks`` / ``board_orders`` and lists the board."""

    def __init__(self, store: ProjectionStore) -> None:
        self.store = store
        self.tasks = store.table("board_tasks")
        self.orders = store.table("board_orders")

    def ddl(self) -> list[Composed]:
        """Statements creating the board tables and their indexes."""
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                "task_id uuid PRIMARY KEY, owner_id uuid NOT NULL, title text NOT NULL, "
                "description text NOT NULL, requirements text NOT NULL, status text NOT NULL, "
                "commission_minor bigint NOT NULL, currency text NOT NULL, slots int NOT NULL, "
                "required_skills text[] NOT NULL, deadline timestamptz NOT NULL, "
                "created_at timestamptz NOT NULL, "
                "search tsvector GENERATED ALWAYS AS ("
                "setweight(to_tsvector('simple', title), 'A') || "
                "setweight(to_tsvector('simple', description || ' ' || requirements), 'B')"
                ") STORED)"
            ).format(self.tasks),
            SQL("CREATE INDEX IF NOT EXISTS board_tasks_search ON {} USING gin (search)").format(
                self.tasks
            ),
            SQL(
                "CREATE INDEX IF NOT EXISTS board_tasks_skills ON {} USING gin (required_skills)"
            ).format(self.tasks),
            SQL(
                "CREATE INDEX IF NOT EXISTS board_tasks_listing ON {} (status, created_at, task_id)"
            ).format(self.tasks),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (order_id uuid PRIMARY KEY, task_id uuid NOT NULL, "
                "provider_id uuid NOT NULL, holds_slot boolean NOT NULL)"
            ).format(self.orders),
            SQL("CREATE INDEX IF NOT EXISTS board_orders_task ON {} (task_id)").format(self.orders),
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
            OrderApplied: self._slot(holds=True),
            OrderDeclined: self._slot(holds=False),
            OrderExpired: self._slot(holds=False),
            OrderCancelled: self._slot(holds=False),
        }

    def processor(self) -> ExactlyOnceProcessor:
        """The exactly-once consumer keeping the board up to date."""
        return ExactlyOnceProcessor("board", TASK_EVENTS, self.store, self.handlers())

    # -- updates ---------------------------------------------------------------------------

    def _created(self, event: TaskCreated, envelope: Envelope, unit: UnitOfWork) -> None:
        unit.connection.execute(
            SQL(
                "INSERT INTO {} (task_id, owner_id, title, description, requirements, status, "
                "commission_minor, currency, slots, required_skills, deadline, created_at) "
                "VALUES (%s, %s, %s, %s, %s, 'draft', %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING"
            ).format(self.tasks),
            (
                event.task_id,
                event.owner_id,
                event.title,
                event.description,
                event.requirements,
                event.commission_minor,
                event.currency,
                event.slots,
                list(normalize_skills(event.required_skills)),
                event.deadline,
                event.occurred_at,
            ),
        )

    def _status(self, status: str) -> Handler:
        def update(event: Any, _: Envelope, unit: UnitOfWork) -> None:
            unit.connection.execute(
                SQL("UPDATE {} SET status = %s WHERE task_id = %s").format(self.tasks),
                (status, event.task_id),
            )

        return update

    def _slot(self, *, holds: bool) -> Handler:
        def update(event: OrderEvent, _: Envelope, unit: UnitOfWork) -> None:
            unit.connection.execute(
                SQL(
                    "INSERT INTO {} VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (order_id) DO UPDATE SET holds_slot = EXCLUDED.holds_slot"
                ).format(self.orders),
                (event.order_id, event.task_id, event.provider_id, holds),
            )

        return update

    # -- reads -----------------------------------------------------------------------------

    def select(self) -> Composed:
        """``SELECT`` of board rows with ``slots_left``, to be followed by a ``WHERE``."""
        return SQL(
            "SELECT * FROM (SELECT t.task_id AS id, t.owner_id, t.title, t.description, "
            "t.requirements, t.status, t.commission_minor, t.currency, t.slots, "
            "t.slots - (SELECT count(*) FROM {o} o WHERE o.task_id = t.task_id AND o.holds_slot) "
            "AS slots_left, t.required_skills, t.deadline, t.created_at, t.search FROM {t} t) b"
        ).format(t=self.tasks, o=self.orders)

    def page(self, query: BoardQuery) -> BoardPage:
        """One page of the board."""
        clauses, params = _filters(query)
        column, descending = _ORDERING[query.sort]
        if query.cursor:
            value, last_id = _decode_cursor(query.cursor, query.sort)
            clauses.append(
                SQL("({}, id) {} (%s, %s)").format(SQL(column), SQL("<" if descending else ">"))
            )
            params.extend([value, last_id])
        direction = SQL("DESC" if descending else "ASC")
        statement = (
            self.select()
            + (SQL(" WHERE ") + SQL(" AND ").join(clauses) if clauses else SQL(""))
            + SQL(" ORDER BY {c} {d}, id {d} LIMIT %s").format(c=SQL(column), d=direction)
        )
        params.append(query.limit + 1)
        with self.store.reading() as conn:
            rows = conn.execute(statement, params).fetchall()
        items = [_task(row) for row in rows]
        page, more = items[: query.limit], len(items) > query.limit
        cursor = _encode_cursor(page[-1], query.sort) if more and page else None
        return BoardPage(items=page, next_cursor=cursor)

    def open_for(
        self, provider_id: UUID, excluded_owners: set[UUID], now: datetime, limit: int
    ) -> list[BoardTask]:
        """Newest published tasks ``provider_id`` could take now: a slot free, deadline ahead,
        not its own, not held by it already, and not owned by ``excluded_owners``."""
        statement = self.select() + SQL(
            " WHERE status = 'published' AND slots_left > 0 AND deadline > %s "
            "AND owner_id <> ALL(%s) AND NOT EXISTS (SELECT 1 FROM {o} o "
            "WHERE o.task_id = b.id AND o.provider_id = %s AND o.holds_slot) "
            "ORDER BY created_at DESC, id DESC LIMIT %s"
        ).format(o=self.orders)
        owners = [provider_id, *excluded_owners]
        with self.store.reading() as conn:
            rows = conn.execute(statement, (now, owners, provider_id, limit)).fetchall()
        return [_task(row) for row in rows]

    def get(self, task_id: UUID) -> BoardTask | None:
        """One task as the board knows it, or ``None``."""
        with self.store.reading() as conn:
            row = conn.execute(self.select() + SQL(" WHERE id = %s"), (task_id,)).fetchone()
        return _task(row) if row else None


def _filters(query: BoardQuery) -> tuple[list[Composable], list[Any]]:
    conditions: list[tuple[str, Any]] = []
    if query.status:
        conditions.append(("status = %s", query.status))
    if query.skill:
        conditions.append(("%s = ANY(required_skills)", query.skill.strip().lower()))
    if query.min_commission is not None:
        conditions.append(("commission_minor >= %s", query.min_commission))
    if query.currency:
        conditions.append(("currency = %s", query.currency))
    if query.deadline_after:
        conditions.append(("deadline >= %s", query.deadline_after))
    if query.deadline_before:
        conditions.append(("deadline <= %s", query.deadline_before))
    if query.owner_id:
        conditions.append(("owner_id = %s", query.owner_id))
    if query.q:
        conditions.append(("search @@ websearch_to_tsquery('simple', %s)", query.q))
    clauses: list[Composable] = [SQL(text) for text, _ in conditions]
    if query.open_only:
        clauses.append(SQL("slots_left > 0"))
    return clauses, [value for _, value in conditions]


def _task(row: dict[str, Any]) -> BoardTask:
    return BoardTask(**{k: v for k, v in row.items() if k != "search"})


def _encode_cursor(last: BoardTask, sort: BoardSort) -> str:
    value = getattr(last, _ORDERING[sort][0])
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return encode_cursor(str(sort), text, str(last.id))


def _decode_cursor(cursor: str, sort: BoardSort) -> tuple[datetime | int, UUID]:
    issued_for, text, task_id = decode_cursor(cursor, 3)
    try:
        if issued_for != sort:
            raise ValueError("sort changed")
        value = int(text) if sort is BoardSort.COMMISSION else datetime.fromisoformat(text)
        return value, UUID(task_id)
    except ValueError:
        raise InvalidCursor(
            f"cursor {cursor!r} is not valid for sort {sort!r}; start again without it"
        ) from None
