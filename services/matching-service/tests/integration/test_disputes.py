"""Disputes lost in the performance record, from dispute events on the real broker.

The dispute service is stood in for by publishing its public events the way its relay does:
keyed by the dispute id, numbered, each pointing at the previous event of the same dispute.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaProducer
from litestar.testing import AsyncTestClient

from ring_events.dispute import (
    DisputeEvent,
    DisputeOpened,
    DisputeOutcome,
    DisputeResolved,
    DisputeWithdrawn,
)
from ring_events.envelope import Envelope, encode_envelope
from ring_events.topics import DISPUTE_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor
from ring_runtime.settings import Settings
from ring_runtime.testing import eventually

from .conftest import actor, qualify

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]


@dataclass(frozen=True)
class Case:
    """One dispute about one order of ``provider_id``."""

    provider_id: UUID
    dispute_id: UUID = field(default_factory=uuid4)
    order_id: UUID = field(default_factory=uuid4)
    task_id: UUID = field(default_factory=uuid4)
    owner_id: UUID = field(default_factory=uuid4)

    def opened(self) -> DisputeOpened:
        now = datetime.now(UTC)
        return DisputeOpened(
            **self._ids(),
            task_id=self.task_id,
            owner_id=self.owner_id,
            provider_id=self.provider_id,
            opened_by=self.owner_id,
            opener_role="owner",
            category="quality",
            reason="boxes are missing",
            response_due=now + timedelta(days=5),
            occurred_at=now,
        )

    def resolved(self, outcome: DisputeOutcome, provider_share_percent: int) -> DisputeResolved:
        return DisputeResolved(
            **self._ids(),
            task_id=self.task_id,
            owner_id=self.owner_id,
            provider_id=self.provider_id,
            outcome=outcome,
            provider_share_percent=provider_share_percent,
            resolved_by=uuid4(),
            occurred_at=datetime.now(UTC),
        )

    def withdrawn(self) -> DisputeWithdrawn:
        return DisputeWithdrawn(
            **self._ids(), withdrawn_by=self.owner_id, occurred_at=datetime.now(UTC)
        )

    def _ids(self) -> dict[str, UUID]:
        return {"dispute_id": self.dispute_id, "order_id": self.order_id}


@dataclass
class DisputeFeed:
    """Envelopes numbered as the dispute service's outbox relay numbers them."""

    last_id: int = 0
    last_of_dispute: dict[UUID, int] = field(default_factory=dict)

    def envelope(self, event: DisputeEvent) -> Envelope:
        """The next envelope; its previous id is the last one of the same dispute."""
        self.last_id += 1
        previous = self.last_of_dispute.get(event.dispute_id, 0)
        self.last_of_dispute[event.dispute_id] = self.last_id
        return Envelope(
            event=event,
            topic=DISPUTE_EVENTS,
            key=str(event.dispute_id),
            notification_id=self.last_id,
            previous_notification_id=previous,
            event_id=str(uuid4()),
            occurred_at=event.occurred_at,
            correlation_id=str(uuid4()),
            causation_id=str(uuid4()),
            source="dispute",
        )


async def publish(bootstrap: str, envelopes: list[Envelope]) -> None:
    """Produce ``envelopes`` on their topic in the wire form the relay uses."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for envelope in envelopes:
            key, value, headers = encode_envelope(envelope)
            await producer.send_and_wait(envelope.topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


def dispute_consumer(matching: Client) -> ExactlyOnceProcessor:
    """The running ``performance-disputes`` consumer of the matching app."""
    bindings = matching.app.state.runtime.bindings
    found: ExactlyOnceProcessor = next(
        b.processor for b in bindings if b.processor.name == "performance-disputes"
    )
    return found


async def applied(consumer: ExactlyOnceProcessor, envelopes: list[Envelope]) -> bool:
    """Whether the consumer's tracking position has reached every one of ``envelopes``."""
    for envelope in envelopes:
        name = consumer.tracking_name(envelope.key)
        position = await asyncio.to_thread(consumer.target.position, name)
        if position < envelope.notification_id:
            return False
    return True


async def disputes(matching: Client, provider: UUID) -> tuple[int, int]:
    """``record.disputes`` and ``record.disputes_lost`` of ``provider`` as the API shows them."""
    response = await matching.get(f"/providers/{provider}", headers=actor(uuid4()))
    assert response.status_code == 200, response.text
    record = response.json()["record"]
    return int(record["disputes"]), int(record["disputes_lost"])


async def test_disputes_decided_against_the_provider_count_as_lost(
    matching: Client, matching_settings: Settings
) -> None:
    refunded, released, split, withdrawn = uuid4(), uuid4(), uuid4(), uuid4()
    for provider in (refunded, released, split, withdrawn):
        await qualify(matching, provider)
    refund_case, release_case = Case(refunded), Case(released)
    split_33, split_50, withdrawn_case = Case(split), Case(split), Case(withdrawn)
    feed = DisputeFeed()
    refund_opened = feed.envelope(refund_case.opened())
    refund_resolved = feed.envelope(refund_case.resolved("refund", 0))
    sent = [
        refund_opened,
        refund_resolved,
        feed.envelope(release_case.opened()),
        feed.envelope(release_case.resolved("release", 100)),
        feed.envelope(split_33.opened()),
        feed.envelope(split_33.resolved("split", 33)),
        feed.envelope(split_50.opened()),
        feed.envelope(split_50.resolved("split", 50)),
        feed.envelope(withdrawn_case.opened()),
        feed.envelope(withdrawn_case.withdrawn()),
    ]
    consumer = dispute_consumer(matching)

    await publish(matching_settings.kafka_bootstrap, sent)
    await eventually(lambda: applied(consumer, sent))

    assert await disputes(matching, refunded) == (1, 1)
    assert await disputes(matching, released) == (1, 0)
    assert await disputes(matching, split) == (2, 1)  # 33 % is lost, an even split is not
    assert await disputes(matching, withdrawn) == (1, 0)

    duplicates = consumer.stats.duplicates
    await publish(matching_settings.kafka_bootstrap, [refund_resolved, refund_resolved])

    async def redelivered() -> bool:
        return consumer.stats.duplicates >= duplicates + 2

    await eventually(redelivered)
    assert await disputes(matching, refunded) == (1, 1)
