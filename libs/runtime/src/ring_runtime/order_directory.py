"""The order directory: what a service knows of the task service's orders, fed from
``ring.task.events``.

Services that judge commands about an order (the voucher service: who may hand in a voucher;
the dispute service: who may complain) decide without calling the task service. Every public
order event carries the order, its task and both parties, so each one upserts the order's row
on its own: the parties, the latest public status and the correlation id the order was first
published under (its task's lifecycle, which the service records its own events under).
Events of one order arrive in order (one key), so the status is the latest published step.

Each service keeps its directory in a table of its own schema under its own consumer name
(:func:`OrderDirectoryProjection` arguments); the dispute service also keeps the order's
history (type, time and note of each public event), shown to the arbitrator with a case.
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
from ring_runtime.ddl import columns_changed
from ring_runtime.freshness import Upstream, depends_on
from ring_runtime.projection import ProjectionStore
from ring_runtime.unit_of_work import UnitOfWork

#: Public order event → the status it leaves the order in.
STATUS_OF: Mapping[type[OrderEvent], str] = {
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
    """An order as a service other than the task service knows it."""

    order_id: UUID
    task_id: UUID
    owner_id: UUID
    provider_id: UUID
    status: str
    #: The task lifecycle's correlation id (None for an order seen before it was kept).
    correlation_id: str | None = None
    #: Its public events, oldest first (kept by directories made ``with_history``).
    history: list[OrderStepView] = []


class OrderDirectoryProjection:
    """Writes and reads one service's order directory table."""

    def __init__(
        self, store: ProjectionStore, *, table: str, consumer: str, with_history: bool = False
    ) -> None:
        """Args:
        store: the service's read-model store.
        table: the directory's table in the store's schema.
        consumer: the consumer's name (it prefixes the tracking rows; a refusal on the
            directory catches up with the task service first, decision 0009).
        with_history: keep each order's public events too.
        """
        self.store = store
        self.table_name = table
        self.table = store.table(table)
        self.upstream = Upstream(consumer=consumer, topic=TASK_EVENTS, owner="task")
        self.with_history = with_history

    def ddl(self) -> list[Composed]:
        """Statements creating the directory table (and adding columns added since)."""
        history = SQL(", history jsonb NOT NULL DEFAULT '[]'::jsonb" if self.with_history else "")
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (order_id uuid PRIMARY KEY, task_id uuid NOT NULL, "
                "owner_id uuid NOT NULL, provider_id uuid NOT NULL, status text NOT NULL{})"
            ).format(self.table, history),
            columns_changed(self.store.schema, self.table_name, added={"correlation_id": "text"}),
        ]

    def handlers(self) -> Mapping[type[Any], Handler]:
        """Every order event records the order's parties and its new status."""
        return {event_class: self._record for event_class in STATUS_OF}

    def processor(self) -> ExactlyOnceProcessor:
        """The exactly-once consumer keeping the directory up to date."""
        return ExactlyOnceProcessor(
            self.upstream.consumer, self.upstream.topic, self.store, self.handlers()
        )

    def _record(self, event: OrderEvent, envelope: Envelope, unit: UnitOfWork) -> None:
        values: list[Any] = [
            event.order_id,
            event.task_id,
            event.owner_id,
            event.provider_id,
            STATUS_OF[type(event)],
            envelope.correlation_id,
        ]
        if self.with_history:
            note = getattr(event, "reason", "") or getattr(event, "note", "") or ""
            step = {"type": event_type(event), "at": event.occurred_at.isoformat(), "note": note}
            values.append(Jsonb([step]))
        unit.connection.execute(
            SQL(
                "INSERT INTO {} AS o (order_id, task_id, owner_id, provider_id, status, "
                "correlation_id{}) VALUES (%s, %s, %s, %s, %s, %s{}) ON CONFLICT (order_id) "
                "DO UPDATE SET status = EXCLUDED.status, "
                "correlation_id = coalesce(o.correlation_id, EXCLUDED.correlation_id){}"
            ).format(
                self.table,
                SQL(", history" if self.with_history else ""),
                SQL(", %s" if self.with_history else ""),
                SQL(", history = o.history || EXCLUDED.history" if self.with_history else ""),
            ),
            values,
        )

    def get(self, order_id: UUID) -> OrderView | None:
        """The order, or ``None`` if no event of it has arrived yet."""
        depends_on(self.upstream, order_id)
        history = SQL(", history" if self.with_history else "")
        with self.store.reading() as conn:
            row = conn.execute(
                SQL(
                    "SELECT order_id, task_id, owner_id, provider_id, status, correlation_id{} "
                    "FROM {} WHERE order_id = %s"
                ).format(history, self.table),
                (order_id,),
            ).fetchone()
        return msgspec.convert(row, OrderView, strict=False) if row else None
