"""Performance records of providers, built exactly once from task and dispute events.

Two exactly-once consumers write the same tables: ``performance`` reads ``ring.task.events``,
``performance-disputes`` reads ``ring.dispute.events``. One row per order (``perf_orders``)
records when it was accepted, first submitted, approved, settled or expired, how often it was
rejected, what was settled, and whether it was disputed and the dispute lost; task deadlines
are kept in ``perf_tasks``. A record is aggregated from those rows at read time, so events of
different aggregates (a task, its orders, their disputes) may arrive in any order.

Disputes lost (:func:`ring_matching.domain.dispute_lost_by_provider`): ``dispute.opened`` marks
the order ``disputed``; ``dispute.resolved`` sets its ``dispute_lost`` flag when the decision
went against the provider: ``refund`` is lost, ``release`` is won, ``split`` is lost when the
provider's share is below 50 %. A withdrawn dispute is not lost. An order is resolved at most
once (decision 0007), so ``disputes_lost`` counts orders whose flag is set, and a redelivered
resolution sets the same flag again instead of counting twice.

Settlements from the ledger would fill ``settled_minor`` / ``currency`` exactly as
``order.settled`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec
from psycopg.sql import SQL, Composed, Identifier

from ring_events.dispute import DisputeOpened, DisputeResolved
from ring_events.envelope import Envelope
from ring_events.task import (
    OrderAccepted,
    OrderApplied,
    OrderApproved,
    OrderEvent,
    OrderExpired,
    OrderRejected,
    OrderSettled,
    OrderSubmitted,
    TaskCreated,
)
from ring_events.topics import DISPUTE_EVENTS, TASK_EVENTS
from ring_matching.domain import dispute_lost_by_provider
from ring_matching.domain.scoring import RecordFigures
from ring_runtime.consumer import ExactlyOnceProcessor, Handler
from ring_runtime.projection import ProjectionStore
from ring_runtime.unit_of_work import UnitOfWork


class Earnings(msgspec.Struct, frozen=True, kw_only=True):
    """Commission settled to the provider in one currency."""

    currency: str
    amount_minor: int


class PublicRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A provider's performance record as any party may see it (counts and rates).

    Attributes:
        orders_taken: orders accepted (the provider could start work).
        orders_completed: orders whose work the owner approved.
        orders_expired: orders whose deadline passed before hand-in.
        approvals / rejections: review outcomes; an order may be rejected and then approved.
        approval_rate: ``approvals / (approvals + rejections)``; ``None`` before any review.
        submitted / on_time: orders handed in, and those first handed in by the deadline.
        on_time_rate: ``on_time`` over hand-ins whose task deadline is known; ``None`` before.
        disputes: orders that went to a dispute (opened by either party).
        disputes_lost: orders whose dispute an arbitrator decided against the provider
            (refund, or a split leaving the provider less than half).
        average_submit_seconds: mean time from acceptance to first hand-in.
    """

    provider_id: UUID
    orders_taken: int = 0
    orders_completed: int = 0
    orders_expired: int = 0
    approvals: int = 0
    rejections: int = 0
    approval_rate: float | None = None
    submitted: int = 0
    on_time: int = 0
    on_time_rate: float | None = None
    disputes: int = 0
    disputes_lost: int = 0
    average_submit_seconds: float | None = None


class PerformanceView(PublicRecord, frozen=True, kw_only=True):
    """The full record, for admins and the provider itself: adds ``earnings``, the settled
    commission per currency in minor units."""

    earnings: list[Earnings] = []

    def public(self) -> PublicRecord:
        """The record without what only its owner and admins may see (earnings)."""
        fields = msgspec.structs.asdict(self)
        del fields["earnings"]
        return PublicRecord(**fields)

    def figures(self) -> RecordFigures:
        """The counts the score uses."""
        return RecordFigures(
            orders_taken=self.orders_taken,
            orders_completed=self.orders_completed,
            approvals=self.approvals,
            rejections=self.rejections,
            submitted=self.submitted,
            on_time=self.on_time,
            disputes_lost=self.disputes_lost,
            average_submit_seconds=self.average_submit_seconds,
        )


class PerformanceProjection:
    """Writes ``perf_orders`` / ``perf_tasks`` and aggregates records from them."""

    def __init__(self, store: ProjectionStore) -> None:
        self.store = store
        self.orders = store.table("perf_orders")
        self.tasks = store.table("perf_tasks")

    def ddl(self) -> list[Composed]:
        """Statements creating the tables and indexes."""
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (order_id uuid PRIMARY KEY, task_id uuid NOT NULL, "
                "provider_id uuid NOT NULL, owner_id uuid NOT NULL, "
                "accepted_at timestamptz, first_submitted_at timestamptz, "
                "approved_at timestamptz, settled_at timestamptz, expired_at timestamptz, "
                "rejections int NOT NULL DEFAULT 0, settled_minor bigint, currency text, "
                "disputed boolean NOT NULL DEFAULT false, "
                "dispute_lost boolean NOT NULL DEFAULT false)"
            ).format(self.orders),
            SQL("CREATE INDEX IF NOT EXISTS perf_orders_provider ON {} (provider_id)").format(
                self.orders
            ),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (task_id uuid PRIMARY KEY, "
                "deadline timestamptz NOT NULL)"
            ).format(self.tasks),
        ]

    def handlers(self) -> Mapping[type[Any], Handler]:
        """Task event type → record update."""
        return {
            TaskCreated: self._task_created,
            OrderApplied: self._applied,
            OrderAccepted: self._first_time("accepted_at"),
            OrderSubmitted: self._first_time("first_submitted_at"),
            OrderApproved: self._first_time("approved_at"),
            OrderRejected: self._rejected,
            OrderExpired: self._first_time("expired_at"),
            OrderSettled: self._settled,
        }

    def dispute_handlers(self) -> Mapping[type[Any], Handler]:
        """Dispute event type → record update."""
        return {DisputeOpened: self._dispute_opened, DisputeResolved: self._dispute_resolved}

    def processors(self) -> list[ExactlyOnceProcessor]:
        """The exactly-once consumers keeping the records up to date, one per topic."""
        return [
            ExactlyOnceProcessor("performance", TASK_EVENTS, self.store, self.handlers()),
            ExactlyOnceProcessor(
                "performance-disputes", DISPUTE_EVENTS, self.store, self.dispute_handlers()
            ),
        ]

    # -- updates ---------------------------------------------------------------------------

    def _task_created(self, event: TaskCreated, _: Envelope, unit: UnitOfWork) -> None:
        unit.connection.execute(
            SQL("INSERT INTO {} VALUES (%s, %s) ON CONFLICT DO NOTHING").format(self.tasks),
            (event.task_id, event.deadline),
        )

    def _applied(self, event: OrderApplied, _: Envelope, unit: UnitOfWork) -> None:
        self._ensure_order(unit, event)

    def _first_time(self, column: str) -> Handler:
        """Record when the order first reached a step (a later repeat keeps the first)."""

        def update(event: OrderEvent, _: Envelope, unit: UnitOfWork) -> None:
            self._ensure_order(unit, event)
            unit.connection.execute(
                SQL("UPDATE {t} SET {c} = COALESCE({c}, %s) WHERE order_id = %s").format(
                    t=self.orders, c=Identifier(column)
                ),
                (event.occurred_at, event.order_id),
            )

        return update

    def _rejected(self, event: OrderRejected, _: Envelope, unit: UnitOfWork) -> None:
        self._ensure_order(unit, event)
        unit.connection.execute(
            SQL("UPDATE {} SET rejections = rejections + 1 WHERE order_id = %s").format(
                self.orders
            ),
            (event.order_id,),
        )

    def _settled(self, event: OrderSettled, _: Envelope, unit: UnitOfWork) -> None:
        self._ensure_order(unit, event)
        unit.connection.execute(
            SQL(
                "UPDATE {} SET settled_at = %s, settled_minor = %s, currency = %s "
                "WHERE order_id = %s"
            ).format(self.orders),
            (event.occurred_at, event.commission_minor, event.currency, event.order_id),
        )

    def _dispute_opened(self, event: DisputeOpened, _: Envelope, unit: UnitOfWork) -> None:
        self._ensure_order(unit, event)
        unit.connection.execute(
            SQL("UPDATE {} SET disputed = true WHERE order_id = %s").format(self.orders),
            (event.order_id,),
        )

    def _dispute_resolved(self, event: DisputeResolved, _: Envelope, unit: UnitOfWork) -> None:
        """Set (never add to) the order's ``dispute_lost`` flag: repeating it changes nothing."""
        self._ensure_order(unit, event)
        lost = dispute_lost_by_provider(event.outcome, event.provider_share_percent)
        unit.connection.execute(
            SQL(
                "UPDATE {} SET disputed = true, dispute_lost = dispute_lost OR %s "
                "WHERE order_id = %s"
            ).format(self.orders),
            (lost, event.order_id),
        )

    def _ensure_order(
        self, unit: UnitOfWork, event: OrderEvent | DisputeOpened | DisputeResolved
    ) -> None:
        unit.connection.execute(
            SQL(
                "INSERT INTO {} (order_id, task_id, provider_id, owner_id) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
            ).format(self.orders),
            (event.order_id, event.task_id, event.provider_id, event.owner_id),
        )

    # -- reads -----------------------------------------------------------------------------

    def records(self, provider_ids: list[UUID]) -> dict[UUID, PerformanceView]:
        """Records of ``provider_ids``; a provider without orders gets an empty record."""
        with self.store.reading() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT o.provider_id, "
                    "count(*) FILTER (WHERE accepted_at IS NOT NULL) AS orders_taken, "
                    "count(*) FILTER (WHERE approved_at IS NOT NULL) AS orders_completed, "
                    "count(*) FILTER (WHERE expired_at IS NOT NULL) AS orders_expired, "
                    "coalesce(sum(rejections), 0) AS rejections, "
                    "count(*) FILTER (WHERE first_submitted_at IS NOT NULL) AS submitted, "
                    "count(*) FILTER (WHERE first_submitted_at IS NOT NULL "
                    "  AND t.deadline IS NOT NULL) AS judged, "
                    "count(*) FILTER (WHERE first_submitted_at <= t.deadline) AS on_time, "
                    "count(*) FILTER (WHERE disputed) AS disputes, "
                    "count(*) FILTER (WHERE dispute_lost) AS disputes_lost, "
                    "avg(extract(epoch FROM first_submitted_at - accepted_at)) AS avg_submit "
                    "FROM {} o LEFT JOIN {} t USING (task_id) "
                    "WHERE o.provider_id = ANY(%s) GROUP BY o.provider_id"
                ).format(self.orders, self.tasks),
                (provider_ids,),
            ).fetchall()
            earned = conn.execute(
                SQL(
                    "SELECT provider_id, currency, sum(settled_minor) AS amount FROM {} "
                    "WHERE settled_at IS NOT NULL AND provider_id = ANY(%s) "
                    "GROUP BY provider_id, currency ORDER BY currency"
                ).format(self.orders),
                (provider_ids,),
            ).fetchall()
        earnings: dict[UUID, list[Earnings]] = {}
        for row in earned:
            earnings.setdefault(row["provider_id"], []).append(
                Earnings(currency=row["currency"], amount_minor=int(row["amount"]))
            )
        found = {row["provider_id"]: _view(row, earnings) for row in rows}
        return {pid: found.get(pid, PerformanceView(provider_id=pid)) for pid in provider_ids}

    def record(self, provider_id: UUID) -> PerformanceView:
        """The record of one provider."""
        return self.records([provider_id])[provider_id]


def _view(row: dict[str, Any], earnings: dict[UUID, list[Earnings]]) -> PerformanceView:
    approvals, rejections = int(row["orders_completed"]), int(row["rejections"])
    submitted, on_time = int(row["submitted"]), int(row["on_time"])
    judged = int(row["judged"])
    reviews = approvals + rejections
    average = row["avg_submit"]
    return PerformanceView(
        provider_id=row["provider_id"],
        orders_taken=int(row["orders_taken"]),
        orders_completed=approvals,
        orders_expired=int(row["orders_expired"]),
        approvals=approvals,
        rejections=rejections,
        approval_rate=round(approvals / reviews, 4) if reviews else None,
        submitted=submitted,
        on_time=on_time,
        # a hand-in whose task deadline has not reached this read model yet is not judged
        on_time_rate=round(on_time / judged, 4) if judged else None,
        disputes=int(row["disputes"]),
        disputes_lost=int(row["disputes_lost"]),
        earnings=earnings.get(row["provider_id"], []),
        average_submit_seconds=float(average) if average is not None else None,
    )
