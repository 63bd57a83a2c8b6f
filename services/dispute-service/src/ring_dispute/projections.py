"""Order directory of the dispute service, fed from ``ring.task.events``.

The dispute service decides who may complain about an order without calling the task service:
per order it keeps the task, both parties, the latest public status and the order's history
(type and time of each public event), shown to the arbitrator with the case.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from psycopg.sql import SQL, Composed
from psycopg.types.json import Jsonb

from ring_events.base import event_type
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

#: Where the directory comes from (the consumer's name prefixes its tracking rows); a refusal
#: on it catches up with the task service first (decision 0009).
TASK = Upstream(consumer="dispute-orders", topic=TASK_EVENTS, owner="task")

#: Public order statuses about which a party may open a dispute: the work was handed in and
#: is awaiting review, or was rejected.
DISPUTABLE = frozenset({"submitted", "rejected"})

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


class OrderStepView(msgspec.Struct, frozen=True, kw_only=True):
    """One public event of the order."""

    type: str
    at: datetime
    note: str = ""


class OrderView(msgspec.Struct, frozen=True, kw_only=True):
    """An order as the dispute service knows it."""

    order_id: UUID
    task_id: UUID
    owner_id: UUID
    provider_id: UUID
    status: str
    history: list[OrderStepView]
    #: The task lifecycle's correlation id (None for an order seen before it was kept).
    correlation_id: str | None = None


class OrderDirectoryProjection:
    """Writes and reads the ``dispute_orders`` table."""

    def __init__(self, store: ProjectionStore) -> None:
        self.store = store
        self.table = store.table("dispute_orders")

    def ddl(self) -> list[Composed]:
        """Statements creating the directory table."""
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (order_id uuid PRIMARY KEY, task_id uuid NOT NULL, "
                "owner_id uuid NOT NULL, provider_id uuid NOT NULL, status text NOT NULL, "
                "history jsonb NOT NULL DEFAULT '[]'::jsonb)"
            ).format(self.table),
            SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS correlation_id text").format(self.table),
        ]

    def handlers(self) -> Mapping[type[Any], Handler]:
        """Every order event records the order's parties, its new status and a history line."""
        return {event_type: self._record for event_type in STATUS_OF}

    def processor(self) -> ExactlyOnceProcessor:
        """The exactly-once consumer keeping the directory up to date."""
        return ExactlyOnceProcessor(TASK.consumer, TASK.topic, self.store, self.handlers())

    def _record(self, event: OrderEvent, envelope: Envelope) -> None:
        note = getattr(event, "reason", "") or getattr(event, "note", "") or ""
        step = {"type": event_type(event), "at": event.occurred_at.isoformat(), "note": note}
        self.store.connection().execute(
            SQL(
                "INSERT INTO {} AS o (order_id, task_id, owner_id, provider_id, status, history, "
                "correlation_id) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (order_id) "
                "DO UPDATE SET status = EXCLUDED.status, history = o.history || EXCLUDED.history, "
                "correlation_id = coalesce(o.correlation_id, EXCLUDED.correlation_id)"
            ).format(self.table),
            (
                event.order_id,
                event.task_id,
                event.owner_id,
                event.provider_id,
                STATUS_OF[type(event)],
                Jsonb([step]),
                envelope.correlation_id,
            ),
        )

    def get(self, order_id: UUID) -> OrderView | None:
        """The order, or ``None`` if no event of it has arrived yet."""
        depends_on(TASK, order_id)
        with self.store.reading() as conn:
            row = conn.execute(
                SQL(
                    "SELECT order_id, task_id, owner_id, provider_id, status, history, "
                    "correlation_id FROM {} WHERE order_id = %s"
                ).format(self.table),
                (order_id,),
            ).fetchone()
        return msgspec.convert(row, OrderView, strict=False) if row else None
