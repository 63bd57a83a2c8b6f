"""``ring.dispute.events`` → ``execute_outcome``: once per resolution, even when redelivered."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from ring_events.dispute import DisputeResolved, DisputeWithdrawn
from ring_events.envelope import Envelope
from ring_events.ledger import DisputeOutcomeExecuted
from ring_events.topics import DISPUTE_EVENTS
from ring_ledger.application import Ledger
from ring_ledger.consumers import disputes
from ring_ledger.integration import to_public
from ring_runtime.consumer import Outcome

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _envelope(event: object, key: str, notification_id: int, previous: int) -> Envelope:
    return Envelope(
        event=event,  # type: ignore[arg-type]
        topic=DISPUTE_EVENTS,
        key=key,
        notification_id=notification_id,
        previous_notification_id=previous,
        event_id=str(uuid4()),
        occurred_at=NOW,
        correlation_id="c",
        causation_id="c",
        source="dispute",
    )


def test_a_split_is_executed_once_and_published(ledger: Ledger) -> None:
    task_id, order_id, owner, provider = uuid4(), uuid4(), uuid4(), uuid4()
    ledger.create_deposit(owner, 30_000, "CNY", "d1")
    ledger.request_funding(task_id, owner, 2, 10_001, 500, "CNY")
    consumer = disputes.processor(ledger)
    dispute_id = uuid4()
    resolved = DisputeResolved(
        dispute_id=dispute_id,
        order_id=order_id,
        task_id=task_id,
        owner_id=owner,
        provider_id=provider,
        outcome="split",
        provider_share_percent=33,
        resolved_by=uuid4(),
        occurred_at=NOW,
    )
    before = ledger.recorder.max_notification_id() or 0
    first = _envelope(resolved, str(dispute_id), 5, 0)
    assert consumer.process(first) is Outcome.APPLIED
    assert consumer.process(first) is Outcome.DUPLICATE  # redelivery: nothing moves again
    later = _envelope(
        DisputeWithdrawn(
            dispute_id=dispute_id, order_id=order_id, withdrawn_by=owner, occurred_at=NOW
        ),
        str(dispute_id),
        6,
        5,
    )
    assert consumer.process(later) is Outcome.APPLIED  # ignored type: position advances only

    assert ledger.balances(provider, "CNY").available_minor == 3_300  # floor(10 001 x 33 %)
    balances = ledger.balances(owner, "CNY")
    # 30 000 - 2 x 10 501 escrowed + (10 501 - 3 300 - 165) refunded; one slot still reserved
    assert (balances.available_minor, balances.reserved_minor) == (16_034, 10_501)
    notifications = ledger.recorder.select_notifications(before + 1, 1000)
    published = [to_public(ledger.mapper.to_domain_event(n)) for n in notifications]
    executed = [e for e in published if isinstance(e, DisputeOutcomeExecuted)]
    assert [(e.provider_minor, e.fee_minor, e.refunded_minor) for e in executed] == [
        (3_300, 165, 7_036)
    ]
    assert ledger.check() == []


def test_a_resolution_for_an_already_settled_slot_moves_nothing(ledger: Ledger) -> None:
    task_id, order_id, owner, provider = uuid4(), uuid4(), uuid4(), uuid4()
    ledger.create_deposit(owner, 10_500, "CNY", "d1")
    ledger.request_funding(task_id, owner, 1, 10_000, 500, "CNY")
    ledger.settle_commission(task_id, order_id, provider, 10_000, 500)
    resolved = DisputeResolved(
        dispute_id=uuid4(),
        order_id=order_id,
        task_id=task_id,
        owner_id=owner,
        provider_id=provider,
        outcome="refund",
        provider_share_percent=0,
        resolved_by=uuid4(),
        occurred_at=NOW,
    )
    consumer = disputes.processor(ledger)
    assert consumer.process(_envelope(resolved, "k", 1, 0)) is Outcome.APPLIED
    assert ledger.balances(provider, "CNY").available_minor == 10_000
    assert ledger.balances(owner, "CNY").available_minor == 0
    assert ledger.check() == []
