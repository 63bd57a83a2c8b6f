"""Disputes as the voucher service sees them: no automatic approval under an open dispute.

A read model of ``ring.dispute.events`` keeps, per order, the state of its latest dispute.
The auto-approval timer consults it through :func:`guarded`:

* dispute **open** → the approval is deferred: the handler raises :class:`DeferredByDispute`,
  so the durable timer retries later with backoff (up to hourly) and keeps the reason;
* dispute **resolved** → the arbitrator decided the money; the timer ends without approving;
* no dispute, or **withdrawn** → the voucher is approved as usual.

The owner's manual approval is refused while the dispute is open (``409 order_under_dispute``,
:class:`DisputeAwareVouchers`): the arbitrator decides the money then, and the order is
``disputed`` in the task service, which would refuse the approval anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from uuid import UUID

from psycopg.sql import SQL, Composed

from ring_events.dispute import DisputeOpened, DisputeResolved, DisputeWithdrawn
from ring_events.envelope import Envelope
from ring_events.topics import DISPUTE_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor
from ring_runtime.projection import ProjectionStore
from ring_runtime.timers import Timer
from ring_voucher.application import Vouchers
from ring_voucher.domain import VoucherServiceError

OPEN, RESOLVED, WITHDRAWN = "open", "resolved", "withdrawn"


class DeferredByDispute(Exception):
    """The order is under an open dispute; the automatic approval waits."""


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


def guarded(
    approve: Callable[[Timer], Any],
    order_of: Callable[[UUID], UUID],
    disputes: OrderDisputesProjection,
) -> Callable[[Timer], None]:
    """The auto-approval timer handler, deferred under an open dispute (see module doc)."""

    def handler(timer: Timer) -> None:
        state = disputes.state(order_of(timer.aggregate_id))
        if state == OPEN:
            raise DeferredByDispute("the order is under an open dispute")
        if state == RESOLVED:
            return
        approve(timer)

    return handler


class OrderUnderDispute(VoucherServiceError):
    """The order's voucher cannot be approved while a dispute about it is open."""

    code: ClassVar[str] = "order_under_dispute"


class DisputeAwareVouchers(Vouchers):
    """:class:`Vouchers` whose manual approval waits for an open dispute to end."""

    name = Vouchers.name  # same event store as the plain application

    #: Set by ``main.create_app``; without it approvals are not checked.
    disputes: OrderDisputesProjection | None = None

    def approve(self, voucher_id: UUID, actor_id: UUID) -> None:
        """Approve as usual, unless the order is under an open dispute."""
        voucher = self.get_voucher_for(voucher_id, actor_id)
        if self.disputes is not None and self.disputes.state(voucher.order_id) == OPEN:
            raise OrderUnderDispute("the order is under an open dispute; arbitration decides")
        super().approve(voucher_id, actor_id)
