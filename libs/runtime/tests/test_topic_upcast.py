"""Through a real broker: a consumer meeting a version-1 message of an event that is now at
version 2 upcasts it and handles version 2, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import uuid4

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from ring_events import headers as h
from ring_events import registry
from ring_events.base import IntegrationEvent, Upcast
from ring_events.envelope import Envelope
from ring_runtime.consumer import ExactlyOnceProcessor, KafkaConsumerBinding, Outcome
from ring_runtime.dead_letters import DeadLetterStore
from ring_runtime.testing import settings_for

from .test_consumer_outages import NoBroker
from .test_consumer_rules import MemoryTarget

pytestmark = pytest.mark.integration


def _v1_to_v2(fields: dict[str, Any]) -> dict[str, Any]:
    """Version 1 weighed in kilograms as a float; version 2 in whole grams."""
    kilograms = fields.pop("weight_kg")
    return {**fields, "weight_grams": round(kilograms * 1000)}


class ParcelWeighedV2(IntegrationEvent, frozen=True, kw_only=True, tag="parcel.weighed.v2"):
    """A parcel was weighed (in grams)."""

    upcasts: ClassVar[dict[str, Upcast]] = {"parcel.weighed.v1": _v1_to_v2}

    parcel_id: str
    weight_grams: int


class ParcelShipped(IntegrationEvent, frozen=True, kw_only=True, tag="parcel.shipped.v1"):
    """A parcel left."""

    parcel_id: str


async def test_a_consumer_upcasts_a_version_1_message_from_the_broker(
    kafka_bootstrap: str, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = f"ring.parcels-{uuid4().hex[:8]}.events"
    union = ParcelWeighedV2 | ParcelShipped
    monkeypatch.setitem(registry.EVENT_UNIONS, topic, union)
    monkeypatch.setitem(registry._DECODERS, topic, msgspec.json.Decoder(union))
    at = datetime(2030, 1, 1, tzinfo=UTC)
    written = {
        "type": "parcel.weighed.v1",
        "occurred_at": at.isoformat(),
        "parcel_id": "parcel-1",
        "weight_kg": 1.25,
    }
    headers = {
        h.NOTIFICATION_ID: "1",
        h.PREVIOUS_NOTIFICATION_ID: "0",
        h.EVENT_ID: "e-1",
        h.OCCURRED_AT: at.isoformat(),
        h.CORRELATION_ID: "c-1",
        h.CAUSATION_ID: "c-1",
        h.SOURCE: "parcels",
        h.EVENT_TYPE: "parcel.weighed.v1",
    }
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:  # as a version-1 producer wrote it, before the event moved to version 2
        await producer.send_and_wait(
            topic,
            key=b"parcel-1",
            value=msgspec.json.encode(written),
            headers=[(name, value.encode()) for name, value in headers.items()],
        )
    finally:
        await producer.stop()
    reader = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await reader.start()
    try:
        record = await reader.getone()
    finally:
        await reader.stop()

    handled: list[tuple[Any, Envelope]] = []
    processor = ExactlyOnceProcessor(
        "parcels",
        topic,
        MemoryTarget(),
        {ParcelWeighedV2: lambda e, env, unit: handled.append((e, env))},
    )
    settings = settings_for("task", postgres_url, kafka_bootstrap, "upcast")
    binding = KafkaConsumerBinding(processor, settings, DeadLetterStore(postgres_url, "upcast"))

    assert await binding.deliver(record, NoBroker()) is Outcome.APPLIED  # type: ignore[arg-type]
    assert await binding.deliver(record, NoBroker()) is Outcome.DUPLICATE  # type: ignore[arg-type]
    assert [event for event, _ in handled] == [
        ParcelWeighedV2(occurred_at=at, parcel_id="parcel-1", weight_grams=1250)
    ]
    assert handled[0][1].event_id == "e-1"
    assert processor.stats.dead_lettered == 0
    assert bytes(record.value or b"") == msgspec.json.encode(written)  # the topic keeps v1
