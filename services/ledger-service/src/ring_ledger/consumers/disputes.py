"""``ring.dispute.events`` → the SettlementSaga's ``execute_outcome`` step.

``dispute.resolved.v1`` pays the disputed order's slot out of escrow: release = 100 % to B,
refund = 0 %, split = B's percent (rounding in decision 0003). The command's single save also
records this consumer's tracking position, so the outcome is executed exactly once; the saga
publishes ``ledger.dispute_outcome_executed.v1``. Every other dispute event only advances the
position.

A resolution that arrives for a slot which already left escrow (the order was approved and
settled before the dispute reached the task service) cannot move money twice: it is logged
and skipped, never retried into the dead-letter topic.
"""

from __future__ import annotations

import logging

from ring_events.dispute import DisputeResolved
from ring_events.envelope import Envelope
from ring_events.topics import DISPUTE_EVENTS
from ring_ledger.application import Ledger
from ring_ledger.domain import IllegalSagaStep, OrderAlreadySettled
from ring_runtime.consumer import ExactlyOnceProcessor
from ring_runtime.unit_of_work import UnitOfWork

log = logging.getLogger("ring.ledger.disputes")

#: Consumer name; also the prefix of its tracking rows.
NAME = "settlement-saga-disputes"


def processor(ledger: Ledger) -> ExactlyOnceProcessor:
    """The exactly-once consumer executing dispute outcomes."""

    def resolved(event: DisputeResolved, _: Envelope, unit: UnitOfWork) -> None:
        try:
            ledger.execute_dispute_outcome(
                event.task_id,
                event.order_id,
                event.provider_id,
                event.provider_share_percent,
                unit=unit,
            )
        except (OrderAlreadySettled, IllegalSagaStep) as error:
            log.warning("dispute %s: outcome not executed: %s", event.dispute_id, error)

    return ExactlyOnceProcessor(NAME, DISPUTE_EVENTS, ledger, {DisputeResolved: resolved})
