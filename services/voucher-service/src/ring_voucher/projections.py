"""The voucher service's read models of other contexts: orders and their disputes.

The voucher service decides who may hand in and review a voucher without calling the task
service: its order directory (the runtime's shared one, :mod:`ring_runtime.order_directory`,
in the ``order_directory`` table) keeps, per order, the task, both parties and the latest
status it has seen — and the correlation id the task service published the order under (its
task's lifecycle), which a voucher's events are recorded under too.

Whether an order is under dispute comes from ``ring.dispute.events``: the latest dispute's
state per order (``open``, ``resolved``, ``withdrawn``), which the approval rules in
:mod:`ring_voucher.domain` decide on.
"""

from __future__ import annotations

from uuid import UUID

from psycopg.sql import SQL, Composed

from ring_events.dispute import DisputeOpened, DisputeResolved, DisputeWithdrawn
from ring_events.envelope import Envelope
from ring_events.topics import DISPUTE_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor
from ring_runtime.order_directory import OrderDirectoryProjection, OrderView
from ring_runtime.projection import ProjectionStore
from ring_runtime.unit_of_work import UnitOfWork
from ring_voucher.domain import OPEN, RESOLVED, WITHDRAWN

__all__ = ["OPEN_FOR_VOUCHERS", "OrderDisputesProjection", "OrderView", "order_directory"]

#: Order statuses in which the provider may hand in a voucher. ``submitted`` is included
#: because the voucher service may see a rejection before the task service's matching
#: ``order.rejected``; the voucher trail itself refuses a second voucher under review.
OPEN_FOR_VOUCHERS = frozenset({"accepted", "in_progress", "submitted", "rejected"})


def order_directory(store: ProjectionStore) -> OrderDirectoryProjection:
    """The voucher service's order directory."""
    return OrderDirectoryProjection(store, table="order_directory", consumer="voucher-orders")


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

        def opened(event: DisputeOpened, _: Envelope, unit: UnitOfWork) -> None:
            self._record(unit, event.order_id, event.dispute_id, OPEN)

        def resolved(event: DisputeResolved, _: Envelope, unit: UnitOfWork) -> None:
            self._record(unit, event.order_id, event.dispute_id, RESOLVED)

        def withdrawn(event: DisputeWithdrawn, _: Envelope, unit: UnitOfWork) -> None:
            self._record(unit, event.order_id, event.dispute_id, WITHDRAWN)

        return ExactlyOnceProcessor(
            "voucher-disputes",
            DISPUTE_EVENTS,
            self.store,
            {DisputeOpened: opened, DisputeResolved: resolved, DisputeWithdrawn: withdrawn},
        )

    def _record(self, unit: UnitOfWork, order_id: UUID, dispute_id: UUID, state: str) -> None:
        # A resolution is final; otherwise the latest dispute's state wins.
        unit.connection.execute(
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
