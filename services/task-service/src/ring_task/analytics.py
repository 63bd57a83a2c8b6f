"""Counts for analytics, read from the task board and the orders-by-party read models.

``GET /analytics/me`` gives the acting user's figures: its tasks by status (as Party A), the
orders on its tasks by status, its own orders by status (as Party B), and the commission of
the orders on its tasks per currency. ``GET /internal/analytics`` gives the same figures for
the whole platform (the gateway lets only admins ask).

Every figure is a ``count`` / ``sum`` over the two tables, which are fed from
``ring.task.events``; like them, the figures are eventually consistent, and an order shows its
last *published* status (``disputed`` and ``refunded`` are private to the task service, see
:mod:`ring_task.order_queries`). Commission is the task's ``commission_minor`` per order:
``committed_minor`` over orders holding work (``accepted``, ``in_progress``, ``submitted``,
``approved``, ``rejected``), ``settled_minor`` over ``settled`` orders: what ``order.settled``
says the provider received (its share only, after a dispute split).
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from psycopg.sql import SQL, Composed

from ring_runtime.http import allow
from ring_runtime.identity import ADMIN
from ring_task.domain import rejection_outliers
from ring_task.order_queries import OrdersByParty
from ring_task.projections import TaskBoardProjection

#: Order statuses whose commission is committed to work in hand but not yet settled.
COMMITTED = ("accepted", "in_progress", "submitted", "approved", "rejected")
SETTLED = "settled"


class CommissionTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Commission of orders in one currency, in minor units."""

    currency: str
    committed_minor: int
    settled_minor: int


class PartyAnalytics(msgspec.Struct, frozen=True, kw_only=True):
    """One user's figures: as task owner (Party A) and as provider (Party B)."""

    tasks_by_status: dict[str, int]
    orders_as_owner_by_status: dict[str, int]
    orders_as_provider_by_status: dict[str, int]
    commission_as_owner: list[CommissionTotals]


class PlatformAnalytics(msgspec.Struct, frozen=True, kw_only=True):
    """The whole platform's figures."""

    tasks_by_status: dict[str, int]
    orders_by_status: dict[str, int]
    commission: list[CommissionTotals]


class RejectionOutlierView(msgspec.Struct, frozen=True, kw_only=True):
    """A Party A rejecting handed-in work far more often than the other owners (decision 0017)."""

    owner_id: UUID
    reviews: int
    rejections: int
    rejection_percent: int
    others_percent: int


class AnalyticsQueries:
    """Aggregates over ``task_board`` and ``orders_by_party`` (one schema, one database)."""

    def __init__(self, board: TaskBoardProjection, orders: OrdersByParty) -> None:
        self.board = board
        self.orders = orders

    def party(self, party_id: UUID) -> PartyAnalytics:
        """The figures of ``party_id``."""
        return PartyAnalytics(
            tasks_by_status=self._tasks_by_status(SQL("owner_id = %s"), [party_id]),
            orders_as_owner_by_status=self._orders_by_status(SQL("owner_id = %s"), [party_id]),
            orders_as_provider_by_status=self._orders_by_status(
                SQL("provider_id = %s"), [party_id]
            ),
            commission_as_owner=self._commission(SQL("o.owner_id = %s"), [party_id]),
        )

    def platform(self) -> PlatformAnalytics:
        """The figures of the whole platform."""
        return PlatformAnalytics(
            tasks_by_status=self._tasks_by_status(None, []),
            orders_by_status=self._orders_by_status(None, []),
            commission=self._commission(None, []),
        )

    def rejection_outliers(self) -> list[RejectionOutlierView]:
        """Owners whose rejection rate is far above the others' (the domain's rule)."""
        return [
            RejectionOutlierView(**outlier._asdict())
            for outlier in rejection_outliers(self.orders.review_records())
        ]

    def _tasks_by_status(self, where: SQL | None, params: list[Any]) -> dict[str, int]:
        statement = SQL("SELECT status, count(*) AS n FROM {}").format(self.board.table)
        with self.board.store.reading() as conn:
            rows = conn.execute(_grouped(statement, where), params).fetchall()
        return {row["status"]: int(row["n"]) for row in rows}

    def _orders_by_status(self, where: SQL | None, params: list[Any]) -> dict[str, int]:
        statement = SQL("SELECT status, count(*) AS n FROM {}").format(self.orders.table)
        with self.orders.store.reading() as conn:
            rows = conn.execute(_grouped(statement, where), params).fetchall()
        return {row["status"]: int(row["n"]) for row in rows}

    def _commission(self, where: SQL | None, params: list[Any]) -> list[CommissionTotals]:
        statement = SQL(
            "SELECT t.currency, "
            "COALESCE(sum(t.commission_minor) FILTER (WHERE o.status = ANY(%s)), 0) AS committed, "
            "COALESCE(sum(COALESCE(o.settled_minor, t.commission_minor)) "
            "FILTER (WHERE o.status = %s), 0) AS settled "
            "FROM {orders} o JOIN {board} t ON t.id = o.task_id"
        ).format(orders=self.orders.table, board=self.board.table)
        if where is not None:
            statement += SQL(" WHERE ") + where
        statement += SQL(" GROUP BY t.currency ORDER BY t.currency")
        with self.orders.store.reading() as conn:
            rows = conn.execute(statement, [list(COMMITTED), SETTLED, *params]).fetchall()
        return [
            CommissionTotals(
                currency=row["currency"].strip(),
                committed_minor=int(row["committed"]),
                settled_minor=int(row["settled"]),
            )
            for row in rows
        ]


def _grouped(statement: Composed, where: SQL | None) -> Composed:
    if where is not None:
        statement = statement + SQL(" WHERE ") + where
    return statement + SQL(" GROUP BY status ORDER BY status")


class AnalyticsController(Controller):
    """``GET /analytics/me`` (the acting user), ``GET /internal/analytics`` (platform) and
    ``GET /internal/rejection-outliers`` (owners to review)."""

    tags = ["analytics"]

    @get("/analytics/me", operation_id="GetMyAnalytics")
    async def my_analytics(
        self, actor: NamedDependency[UUID], analytics: NamedDependency[AnalyticsQueries]
    ) -> PartyAnalytics:
        """Tasks and orders of the acting user by status, and commission on its tasks."""
        return await asyncio.to_thread(analytics.party, actor)

    @get("/internal/analytics", operation_id="GetPlatformAnalytics", guards=[allow(ADMIN)])
    async def platform_analytics(
        self, analytics: NamedDependency[AnalyticsQueries]
    ) -> PlatformAnalytics:
        """Tasks and orders of the whole platform by status, and commission per currency."""
        return await asyncio.to_thread(analytics.platform)

    @get(
        "/internal/rejection-outliers",
        operation_id="ListRejectionOutliers",
        guards=[allow(ADMIN)],
    )
    async def list_rejection_outliers(
        self, analytics: NamedDependency[AnalyticsQueries]
    ) -> list[RejectionOutlierView]:
        """Owners whose rejection rate is far above the norm, highest first (for review)."""
        return await asyncio.to_thread(analytics.rejection_outliers)
