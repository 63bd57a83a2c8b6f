"""Order directory: the voucher service's own read model of orders, fed from ``ring.task.events``.

The voucher service decides who may hand in and review a voucher without calling the task
service: it keeps, per order, the task, both parties and the latest status it has seen — and
the correlation id the task service published the order under (its task's lifecycle), which a
voucher's events are recorded under too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec
from psycopg.sql import SQL, Composed

from ring_events.envelope import Envelope
from ring_events.task import (
    OrderAccepted,
    OrderApplied,
    OrderApproved,
    OrderCancelled,
    OrderDeclined,
    OrderEvent,
    OrderExpired,
    OrderProgressed,
    OrderRejected,
    OrderSettled,
    OrderSubmitted,
)
from ring_events.topics import TASK_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor, Handler
from ring_runtime.freshness import Upstream, depends_on
from ring_runtime.projection import ProjectionStore

#: Order statuses in which the provider may hand in a voucher. ``submitted`` is included
#: because the voucher service may see a rejection before the task service's matching
#: ``order.rejected``; the voucher trail itself refuses a second voucher under review.
OPEN_FOR_VOUCHERS = frozenset({"accepted", "in_progress", "submitted", "rejected"})

#: Where the directory comes from: a refusal on it catches up with the task service first.
TASK = Upstream(consumer="voucher-orders", topic=TASK_EVENTS, owner="task")

#: Public order event → the status it means.
STATUS_OF: dict[type[OrderEvent], str] = {
    OrderApplied: "applied",
    OrderAccepted: "accepted",
    OrderDeclined: "declined",
    OrderProgressed: "in_progress",
    OrderSubmitted: "submitted",
    OrderApproved: "approved",
    OrderRejected: "rejected",
    OrderSettled: "settled",
    OrderExpired: "expired",
    OrderCancelled: "cancelled",
}


class OrderView(msgspec.Struct, frozen=True, kw_only=True):
    """An order as the voucher service knows it."""

    order_id: UUID
    task_id: UUID
    owner_id: UUID
    provider_id: UUID
    status: str
    #: The task lifecycle's correlation id (None for an order seen before it was kept).
    correlation_id: str | None = None


class OrderDirectoryProjection:
    """Writes and reads the ``order_directory`` table."""

    def __init__(self, store: ProjectionStore) -> None:
        self.store = store
        self.table = store.table("order_directory")

    def ddl(self) -> list[Composed]:
        """Statements creating the directory table."""
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (order_id uuid PRIMARY KEY, task_id uuid NOT NULL, "
                "owner_id uuid NOT NULL, provider_id uuid NOT NULL, status text NOT NULL)"
            ).format(self.table),
            SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS correlation_id text").format(self.table),
        ]

    def handlers(self) -> Mapping[type[Any], Handler]:
        """Every order event records the order's parties and its new status."""
        return {event_type: self._record for event_type in STATUS_OF}

    def processor(self) -> ExactlyOnceProcessor:
        """The exactly-once consumer keeping the directory up to date."""
        return ExactlyOnceProcessor(TASK.consumer, TASK.topic, self.store, self.handlers())

    def _record(self, event: OrderEvent, envelope: Envelope) -> None:
        self.store.connection().execute(
            SQL(
                "INSERT INTO {} AS o (order_id, task_id, owner_id, provider_id, status, "
                "correlation_id) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (order_id) DO UPDATE "
                "SET status = EXCLUDED.status, "
                "correlation_id = coalesce(o.correlation_id, EXCLUDED.correlation_id)"
            ).format(self.table),
            (
                event.order_id,
                event.task_id,
                event.owner_id,
                event.provider_id,
                STATUS_OF[type(event)],
                envelope.correlation_id,
            ),
        )

    def get(self, order_id: UUID) -> OrderView | None:
        """The order, or ``None`` if no event of it has arrived yet."""
        depends_on(TASK, order_id)
        with self.store.reading() as conn:
            row = conn.execute(
                SQL(
                    "SELECT order_id, task_id, owner_id, provider_id, status, correlation_id "
                    "FROM {} WHERE order_id = %s"
                ).format(self.table),
                (order_id,),
            ).fetchone()
        return OrderView(**row) if row else None
