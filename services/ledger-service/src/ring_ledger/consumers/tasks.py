"""The SettlementSaga's trigger: ``ring.task.events`` → one saga step per message.

Each handler calls ONE ledger command; that command's single save also records this consumer's
tracking position, so a redelivered or republished message has no second effect.
``task.expired`` moves no money (open orders run to their end; the task's completion releases
the rest), and every other task event only advances the consumer's position.
"""

from __future__ import annotations

from ring_events.envelope import Envelope
from ring_events.task import (
    OrderApproved,
    TaskCancelled,
    TaskCompleted,
    TaskPublishRequested,
)
from ring_events.topics import TASK_EVENTS
from ring_ledger.application import Ledger
from ring_runtime.consumer import ExactlyOnceProcessor
from ring_runtime.unit_of_work import UnitOfWork

#: Consumer name; also the prefix of its tracking rows.
NAME = "settlement-saga"


def processor(ledger: Ledger) -> ExactlyOnceProcessor:
    """The exactly-once consumer driving the SettlementSaga from task events."""

    def publish_requested(event: TaskPublishRequested, _: Envelope, unit: UnitOfWork) -> None:
        ledger.request_funding(
            event.task_id,
            event.owner_id,
            event.slots,
            event.commission_minor,
            event.fee_minor,
            event.currency,
            unit=unit,
        )

    def order_approved(event: OrderApproved, _: Envelope, unit: UnitOfWork) -> None:
        ledger.settle_commission(
            event.task_id,
            event.order_id,
            event.provider_id,
            event.commission_minor,
            event.fee_minor,
            unit=unit,
        )

    def task_cancelled(event: TaskCancelled, _: Envelope, unit: UnitOfWork) -> None:
        ledger.release_unused_escrow(event.task_id, "task-cancelled", unit=unit)

    def task_completed(event: TaskCompleted, _: Envelope, unit: UnitOfWork) -> None:
        ledger.release_unused_escrow(event.task_id, "task-completed", unit=unit)

    return ExactlyOnceProcessor(
        NAME,
        TASK_EVENTS,
        ledger,
        {
            TaskPublishRequested: publish_requested,
            OrderApproved: order_approved,
            TaskCancelled: task_cancelled,
            TaskCompleted: task_completed,
        },
    )
