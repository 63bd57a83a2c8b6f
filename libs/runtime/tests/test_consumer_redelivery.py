"""Through a real broker: a batch that fails part-way is read again, never committed past.

The consumer commits offsets once per batch. An exception escaping the batch (a bug, or a
failure outside the retried step) used to count as success under ``AckPolicy.ACK``: the batch
was committed and the consumer's position was already past the records not yet processed, so
they were never applied. Now the batch is nacked and its partitions are sought back.
"""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from faststream.kafka import KafkaBroker
from msgspec.structs import replace

from ring_events import registry
from ring_events.envelope import encode_envelope
from ring_events.task import TaskCancelled
from ring_events.topics import TASK_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor, KafkaConsumerBinding, Outcome
from ring_runtime.dead_letters import DeadLetterStore
from ring_runtime.testing import settings_for
from ring_runtime.testing.polling import eventually

from .test_consumer_rules import MemoryTarget, envelope

pytestmark = pytest.mark.integration


async def test_a_batch_failing_part_way_is_read_again_from_its_first_record(
    kafka_bootstrap: str, postgres_url: str, db_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = f"ring.redelivery-{uuid4().hex[:8]}.events"
    monkeypatch.setitem(registry.EVENT_UNIONS, topic, registry.EVENT_UNIONS[TASK_EVENTS])
    monkeypatch.setitem(registry._DECODERS, topic, registry._DECODERS[TASK_EVENTS])
    applied: list[int] = []
    processor = ExactlyOnceProcessor(
        "redelivery",
        topic,
        MemoryTarget(),
        {TaskCancelled: lambda event, env, unit: applied.append(env.notification_id)},
    )
    settings = settings_for("task", postgres_url, kafka_bootstrap, db_schema)
    dead_letters = DeadLetterStore(postgres_url, db_schema)
    binding = KafkaConsumerBinding(processor, settings, dead_letters)

    deliver = binding.deliver
    escaped: list[int] = []

    async def second_record_fails_once(
        record: ConsumerRecord[bytes, bytes], broker: KafkaBroker
    ) -> Outcome | None:
        if record.offset == 1 and not escaped:
            escaped.append(record.offset)
            raise RuntimeError("connection lost between two records")
        return await deliver(record, broker)

    monkeypatch.setattr(binding, "deliver", second_record_fails_once)

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:  # three events of one aggregate, in one partition, read as one batch
        for n in (1, 2, 3):
            key, value, headers = encode_envelope(replace(envelope(n, n - 1), topic=topic))
            await producer.send_and_wait(topic, key=key, value=value, headers=list(headers))
    finally:
        await producer.stop()

    broker = KafkaBroker(kafka_bootstrap, log_level=30)
    binding.subscribe(broker)
    await asyncio.to_thread(dead_letters.create_table)
    await broker.start()

    async def each_applied_once() -> bool:
        return applied == [1, 2, 3]

    try:  # the records after the failure are applied, each once
        await eventually(each_applied_once)
    finally:
        binding.stop()
        await broker.stop()
    assert escaped == [1], "the failure was injected once"
    assert binding.health.failures == 1, "the failure is shown in /ready"
    assert binding.health.ok, "and cleared once the batch went through"
    assert processor.stats.dead_lettered == 0
