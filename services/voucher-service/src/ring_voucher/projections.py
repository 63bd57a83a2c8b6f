"""The voucher service's read models of other contexts: orders and their disputes.

The voucher service decides who may hand in and review a voucher without calling the task
service: its order directory (fed from ``ring.task.events``) keeps, per order, the task, both
parties and the latest status it has seen — and the correlation id the task service published
the order under (its task's lifecycle), which a voucher's events are recorded under too.

Whether an order is under dispute comes from ``ring.dispute.events``: the latest dispute's
state per order (``open``, ``resolved``, ``withdrawn``), which the approval rules in
:mod:`ring_voucher.domain` decide on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec
from psycopg.sql import SQL, Composed

from ring_events.dispute import DisputeOpened, DisputeResolved, DisputeWithdrawn
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
from ring_events.topics import DISPUTE_EVENTS, TASK_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor, Handler
from ring_runtime.freshness import Upstream, depends_on
from ring_runtime.projection import ProjectionStore
from ring_voucher.domain import OPEN, RESOLVED, WITHDRAWN

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


class OrderDisputesProjection:
    """Writes and reads the ``order_disputes`` table (latest dispute per order)."""

    def __init__(self, store: ProjectionStore) -> None:
        self.store = store
        self.table = store.table("order_disputes")

    def ddl(self) -> list[Composed]:
        """Statement creating the table."""
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (order_id uuid PRIMARY KEY, "
                "dispute_id uuid NOT NULL, state text NOT NULL)"
            ).format(self.table)
        ]

    def processor(self) -> ExactlyOnceProcessor:
        """The exactly-once consumer of ``ring.dispute.events``."""

        def opened(event: DisputeOpened, _: Envelope) -> None:
            self._record(event.order_id, event.dispute_id, OPEN)

        def resolved(event: DisputeResolved, _: Envelope) -> None:
            self._record(event.order_id, event.dispute_id, RESOLVED)

        def withdrawn(event: DisputeWithdrawn, _: Envelope) -> None:
            self._record(event.order_id, event.dispute_id, WITHDRAWN)

        return ExactlyOnceProcessor(
            "voucher-disputes",
            DISPUTE_EVENTS,
            self.store,
            {DisputeOpened: opened, DisputeResolved: resolved, DisputeWithdrawn: withdrawn},
        )

    def _record(self, order_id: UUID, dispute_id: UUID, state: str) -> None:
        # A resolution is final; otherwise the latest dispute's state wins.
        self.store.connection().execute(
            SQL(
                "INSERT INTO {} AS d VALUES (%s, %s, %s) ON CONFLICT (order_id) DO UPDATE "
                "SET dispute_id = EXCLUDED.dispute_id, state = EXCLUDED.state "
                "WHERE d.state <> 'resolved'"
            ).format(self.table),
            (order_id, dispute_id, state),
        )

    def state(self, order_id: UUID) -> str | None:
        """``open`` / ``resolved`` / ``withdrawn``, or None when the order was never disputed."""
        with self.store.reading() as conn:
            row = conn.execute(
                SQL("SELECT state FROM {} WHERE order_id = %s").format(self.table), (order_id,)
            ).fetchone()
        return str(row["state"]) if row else None
