"""Reactions to the ledger (``ring.ledger.events``): funding outcomes and settlements.

Each handler calls ONE ``Tasks`` command; its save also records this consumer's tracking
position, so a redelivered or republished ledger event changes nothing.

* ``ledger.funds_reserved`` → the task is published;
* ``ledger.funds_rejected`` → the task's funding failed, with the exact shortfall as reason;
* ``ledger.commission_settled`` → the order is settled; the task completes in the same save
  when every slot is settled or released.
"""

from __future__ import annotations

from ring_events.envelope import Envelope
from ring_events.ledger import CommissionSettled, FundsRejected, FundsReserved
from ring_events.topics import LEDGER_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor
from ring_runtime.unit_of_work import UnitOfWork
from ring_task.application import Tasks

#: Consumer name; also the prefix of its tracking rows.
NAME = "task-ledger"


def funding_failure_reason(event: FundsRejected) -> str:
    """The reason shown on a task whose escrow could not be funded."""
    return (
        f"insufficient funds: {event.required_minor} {event.currency} needed, "
        f"{event.available_minor} available, shortfall {event.shortfall_minor}"
    )


def processor(tasks: Tasks) -> ExactlyOnceProcessor:
    """The exactly-once consumer applying ledger outcomes to tasks and orders."""

    def funds_reserved(event: FundsReserved, envelope: Envelope, unit: UnitOfWork) -> None:
        tasks.mark_funded(event.task_id, now=envelope.occurred_at, unit=unit)

    def funds_rejected(event: FundsRejected, envelope: Envelope, unit: UnitOfWork) -> None:
        tasks.mark_funding_failed(
            event.task_id, funding_failure_reason(event), now=envelope.occurred_at, unit=unit
        )

    def commission_settled(event: CommissionSettled, envelope: Envelope, unit: UnitOfWork) -> None:
        tasks.record_settlement(
            event.order_id, now=envelope.occurred_at, paid_minor=event.commission_minor, unit=unit
        )

    return ExactlyOnceProcessor(
        NAME,
        LEDGER_EVENTS,
        tasks,
        {
            FundsReserved: funds_reserved,
            FundsRejected: funds_rejected,
            CommissionSettled: commission_settled,
        },
    )
