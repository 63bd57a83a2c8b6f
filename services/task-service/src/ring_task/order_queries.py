"""Orders by party: a PostgreSQL read model fed exactly once from ``ring.task.events``.

``GET /orders`` lists the acting user's orders — as task owner (Party A) or as provider
(Party B) — newest first, with cursor paging and optional ``status`` / ``task_id`` filters.

Every order event carries the order, its task and both parties, so each one upserts the row on
its own; events of one order arrive in order (one key), so the status is the latest published
step. Steps the task service keeps private (``disputed``, ``refunded``, a withdrawn dispute)
are not on the topic: the listing shows the last published status until the next published
step, and ``GET /orders/{id}`` is authoritative.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, Parameter
from psycopg.sql import SQL, Composable, Composed

from ring_events.envelope import Envelope
from ring_events.task import OrderApproved, OrderEvent, OrderProgressed, OrderRejected, OrderSettled
from ring_events.topics import TASK_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor, Handler
from ring_runtime.ddl import columns_changed
from ring_runtime.http import Cursor, Limit
from ring_runtime.order_directory import STATUS_OF
from ring_runtime.paging import decode_position, encode_position
from ring_runtime.projection import ProjectionStore
from ring_runtime.unit_of_work import UnitOfWork
from ring_task.domain import ReviewRecord


class OrderRow(msgspec.Struct, frozen=True, kw_only=True):
    """One order as its parties see it in their list."""

    id: UUID
    task_id: UUID
    owner_id: UUID
    provider_id: UUID
    status: str
    percent: int
    created_at: datetime
    updated_at: datetime


class OrderPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of orders and the cursor of the next page (``None`` on the last page)."""

    items: list[OrderRow]
    next_cursor: str | None


class OrdersByParty:
    """Writes and reads the ``orders_by_party`` table."""

    TABLE = "orders_by_party"

    def __init__(self, store: ProjectionStore) -> None:
        self.store = store
        self.table = store.table(self.TABLE)

    def ddl(self) -> list[Composed]:
        """Statements creating the table and one index per party column."""
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, task_id uuid NOT NULL, "
                "owner_id uuid NOT NULL, provider_id uuid NOT NULL, status text NOT NULL, "
                "percent int NOT NULL DEFAULT 0, created_at timestamptz NOT NULL, "
                "updated_at timestamptz NOT NULL, settled_minor bigint)"
            ).format(self.table),
            # Tables created before the settled amount and the review counts (decision 0017)
            # were kept gain the columns.
            columns_changed(
                self.store.schema,
                self.TABLE,
                added={
                    "settled_minor": "bigint",
                    "approvals": "int NOT NULL DEFAULT 0",
                    "rejections": "int NOT NULL DEFAULT 0",
                },
            ),
            SQL(
                "CREATE INDEX IF NOT EXISTS orders_by_owner ON {} (owner_id, created_at DESC, id)"
            ).format(self.table),
            SQL(
                "CREATE INDEX IF NOT EXISTS orders_by_provider "
                "ON {} (provider_id, created_at DESC, id)"
            ).format(self.table),
        ]

    def handlers(self) -> Mapping[type[Any], Handler]:
        """Integration event type → row upsert (task events advance the position only)."""
        return {cls: self._upsert for cls in STATUS_OF}

    def processor(self) -> ExactlyOnceProcessor:
        """The exactly-once consumer keeping the table up to date."""
        return ExactlyOnceProcessor("orders-by-party", TASK_EVENTS, self.store, self.handlers())

    def _upsert(self, event: OrderEvent, envelope: Envelope, unit: UnitOfWork) -> None:
        percent = event.percent if isinstance(event, OrderProgressed) else None
        settled = event.commission_minor if isinstance(event, OrderSettled) else None
        unit.connection.execute(
            SQL(
                "INSERT INTO {} AS o (id, task_id, owner_id, provider_id, status, percent, "
                "created_at, updated_at, settled_minor, approvals, rejections) "
                "VALUES (%s, %s, %s, %s, %s, COALESCE(%s, 0), %s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, "
                "percent = COALESCE(%s, o.percent), updated_at = EXCLUDED.updated_at, "
                "settled_minor = COALESCE(EXCLUDED.settled_minor, o.settled_minor), "
                "approvals = o.approvals + EXCLUDED.approvals, "
                "rejections = o.rejections + EXCLUDED.rejections"
            ).format(self.table),
            (
                event.order_id,
                event.task_id,
                event.owner_id,
                event.provider_id,
                STATUS_OF[type(event)],
                percent,
                envelope.occurred_at,
                envelope.occurred_at,
                settled,
                int(isinstance(event, OrderApproved)),
                int(isinstance(event, OrderRejected)),
                percent,
            ),
        )

    def review_records(self) -> list[ReviewRecord]:
        """Approvals and rejections per task owner, over every order."""
        statement = SQL(
            "SELECT owner_id, sum(approvals) AS approvals, sum(rejections) AS rejections "
            "FROM {} GROUP BY owner_id HAVING sum(approvals + rejections) > 0"
        ).format(self.table)
        with self.store.reading() as conn:
            rows = conn.execute(statement).fetchall()
        return [
            ReviewRecord(row["owner_id"], int(row["approvals"]), int(row["rejections"]))
            for row in rows
        ]

    def list(
        self,
        party_id: UUID,
        *,
        status: str | None = None,
        task_id: UUID | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> OrderPage:
        """One page of ``party_id``'s orders (as owner or provider), newest first.

        Raises:
            InvalidCursor: ``cursor`` was not made by this listing.
        """
        clauses: list[Composable] = [SQL("(owner_id = %s OR provider_id = %s)")]
        params: list[Any] = [party_id, party_id]
        if status:
            clauses.append(SQL("status = %s"))
            params.append(status)
        if task_id:
            clauses.append(SQL("task_id = %s"))
            params.append(task_id)
        if cursor:
            created_at, last_id = decode_position(cursor)
            clauses.append(SQL("(created_at, id) < (%s, %s)"))
            params.extend([created_at, last_id])
        statement = (
            SQL(
                "SELECT id, task_id, owner_id, provider_id, status, percent, created_at, "
                "updated_at FROM {} WHERE "
            ).format(self.table)
            + SQL(" AND ").join(clauses)
            + SQL(" ORDER BY created_at DESC, id DESC LIMIT %s")
        )
        params.append(limit + 1)
        with self.store.reading() as conn:
            rows = conn.execute(statement, params).fetchall()
        items = [OrderRow(**row) for row in rows]
        page, more = items[:limit], len(items) > limit
        next_cursor = encode_position(page[-1].created_at, page[-1].id) if more and page else None
        return OrderPage(items=page, next_cursor=next_cursor)


class OrderListController(Controller):
    """``GET /orders``: the acting user's orders."""

    path = "/orders"
    tags = ["orders"]

    @get("/", operation_id="ListOrders")
    async def list_orders(
        self,
        actor: NamedDependency[UUID],
        orders_by_party: NamedDependency[OrdersByParty],
        status: Annotated[str | None, Parameter(max_length=40)] = None,
        task_id: FromQuery[UUID | None] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> OrderPage:
        """Orders where the actor is the task owner or the provider, newest first."""
        return await asyncio.to_thread(
            orders_by_party.list,
            actor,
            status=status,
            task_id=task_id,
            cursor=cursor,
            limit=limit,
        )
