"""Disputes → orders: ``ring.dispute.events`` and the ledger's execution of their outcomes.

* ``dispute.opened`` → the order is ``disputed`` (no approval, no settlement meanwhile);
* ``dispute.withdrawn`` → the order returns to ``submitted`` or ``rejected``;
* ``ledger.dispute_outcome_executed`` → the order is ``settled`` (release, split) or
  ``refunded`` (refund, 0 %), its slot retired; the task completes when that was the last.

Each handler calls ONE idempotent ``Tasks`` command whose save carries the tracking position.
"""

from __future__ import annotations

from ring_events.dispute import DisputeOpened, DisputeWithdrawn
from ring_events.envelope import Envelope
from ring_events.ledger import DisputeOutcomeExecuted
from ring_events.topics import DISPUTE_EVENTS, LEDGER_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor
from ring_runtime.unit_of_work import UnitOfWork
from ring_task.application import Tasks


def processors(tasks: Tasks) -> list[ExactlyOnceProcessor]:
    """The consumer of dispute events and the consumer of executed dispute outcomes."""

    def opened(event: DisputeOpened, _: Envelope, unit: UnitOfWork) -> None:
        tasks.record_dispute_opened(event.order_id, now=event.occurred_at, unit=unit)

    def withdrawn(event: DisputeWithdrawn, _: Envelope, unit: UnitOfWork) -> None:
        tasks.record_dispute_withdrawn(event.order_id, now=event.occurred_at, unit=unit)

    def executed(event: DisputeOutcomeExecuted, _: Envelope, unit: UnitOfWork) -> None:
        tasks.record_dispute_outcome(
            event.order_id,
            event.provider_share_percent,
            now=event.occurred_at,
            paid_minor=event.provider_minor,
            unit=unit,
        )

    return [
        ExactlyOnceProcessor(
            "task-disputes",
            DISPUTE_EVENTS,
            tasks,
            {DisputeOpened: opened, DisputeWithdrawn: withdrawn},
        ),
        ExactlyOnceProcessor(
            "task-dispute-outcomes", LEDGER_EVENTS, tasks, {DisputeOutcomeExecuted: executed}
        ),
    ]
