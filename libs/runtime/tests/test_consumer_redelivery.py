"""Through a real broker: a batch that fails part-way is read again, never committed past.

The consumer commits offsets once per batch. An exception escaping the batch (a bug, or a
failure outside the retried step) used to count as success under ``AckPolicy.ACK``: the batch
was committed and the consumer's position was already past the records not yet processed, so
they were never applied. Now the batch is nacked and its partitions are sought back.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from faststream.kafka import KafkaBroker
from msgspec.structs import replace

from ring_events.envelope import encode_envelope
from ring_events.task import TaskCancelled
from ring_runtime.consumer import ExactlyOnceProcessor, KafkaConsumerBinding, Outcome
from ring_runtime.dead_letters import DeadLetterStore
from ring_runtime.kafka import ensure_topics
from ring_runtime.testing import settings_for
from ring_runtime.testing.polling import eventually

from .test_consumer_rules import MemoryTarget, envelope

pytestmark = pytest.mark.integration


def recording(
    name: str, topic: str, target: MemoryTarget, applied: list[int]
) -> ExactlyOnceProcessor:
    """A processor noting in ``applied`` the notification id of each event it applies."""
    return ExactlyOnceProcessor(
        name,
        topic,
        target,
        {TaskCancelled: lambda event, env, unit: applied.append(env.notification_id)},
    )


async def publish(producer: AIOKafkaProducer, topic: str, n: int) -> None:
    """Event ``n`` of one aggregate, following event ``n - 1``."""
    key, value, headers = encode_envelope(replace(envelope(n, n - 1), topic=topic))
    await producer.send_and_wait(topic, key=key, value=value, headers=list(headers))


async def test_a_batch_failing_part_way_is_read_again_from_its_first_record(
    kafka_bootstrap: str,
    postgres_url: str,
    db_schema: str,
    topic: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    applied: list[int] = []
    processor = recording("redelivery", topic, MemoryTarget(), applied)
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
            await publish(producer, topic, n)
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


async def test_a_gap_met_within_the_rewind_cool_down_is_read_again_when_it_ends(
    kafka_bootstrap: str,
    postgres_url: str,
    db_schema: str,
    topic: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stuck consumer of the seeded fault run (issue 17): event 2 of an aggregate arrives
    before event 1. The first gap rewinds the partition; the re-read meets the gap again within
    the cool-down, and that record used to be committed past with no rewind to follow, so
    when event 1 came behind it, event 2 was never applied."""
    monkeypatch.setattr("ring_runtime.consumer.REWIND_COOLDOWN_SECONDS", 1.0)
    applied: list[int] = []
    processor = recording("rewind", topic, MemoryTarget(), applied)
    settings = settings_for("task", postgres_url, kafka_bootstrap, db_schema)
    dead_letters = DeadLetterStore(postgres_url, db_schema)
    binding = KafkaConsumerBinding(processor, settings, dead_letters)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()

    broker = KafkaBroker(kafka_bootstrap, log_level=30)
    binding.subscribe(broker)
    await asyncio.to_thread(dead_letters.create_table)
    try:
        await publish(producer, topic, 2)
        await broker.start()

        async def gap_met_twice() -> bool:  # once, then again on the re-read, in the cool-down
            return processor.stats.out_of_sequence >= 2

        await eventually(gap_met_twice)
        await publish(producer, topic, 1)

        async def both_applied_in_order() -> bool:
            return applied == [1, 2]

        await eventually(both_applied_in_order)
    finally:
        binding.stop()
        await broker.stop()
        await producer.stop()
    assert processor.stats.dead_lettered == 0


async def test_a_consumer_restarted_after_skipping_a_gap_reads_the_skipped_record_again(
    kafka_bootstrap: str,
    postgres_url: str,
    db_schema: str,
    topic: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rewind owed to a skipped record lives in the process: killed before it, a consumer
    used to restart from an offset committed past the record, and never applied it."""
    monkeypatch.setattr("ring_runtime.consumer.REWIND_COOLDOWN_SECONDS", 1.0)
    applied: list[int] = []
    target = MemoryTarget()  # the service's store: it outlives the consumer process
    settings = settings_for("task", postgres_url, kafka_bootstrap, db_schema)
    dead_letters = DeadLetterStore(postgres_url, db_schema)
    await asyncio.to_thread(dead_letters.create_table)

    def consumer() -> KafkaConsumerBinding:
        return KafkaConsumerBinding(
            recording("restart", topic, target, applied), settings, dead_letters
        )

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()

    try:
        await publish(producer, topic, 2)
        first = consumer()
        broker = KafkaBroker(kafka_bootstrap, log_level=30)
        first.subscribe(broker)
        await broker.start()

        async def skipped_thrice() -> bool:  # read, re-read at once, re-read after the cool-down:
            return first.processor.stats.out_of_sequence >= 3  # a batch after it was committed

        try:
            await eventually(skipped_thrice)
        finally:
            first.stop()
            await broker.stop()
        await publish(producer, topic, 1)
        second = consumer()  # the same consumer group, restarted from its committed offset
        broker = KafkaBroker(kafka_bootstrap, log_level=30)
        second.subscribe(broker)
        await broker.start()

        async def both_applied_in_order() -> bool:
            return applied == [1, 2]

        try:
            await eventually(both_applied_in_order)
        finally:
            second.stop()
            await broker.stop()
    finally:
        await producer.stop()
    assert applied == [1, 2], "the skipped record applied once, after its predecessor"
    assert second.processor.stats.dead_lettered == 0


async def test_a_batch_over_two_partitions_one_with_a_gap_is_committed(
    kafka_bootstrap: str, postgres_url: str, db_schema: str, topic: str
) -> None:
    """Committing short of a gap named the other partitions' ends as ``min(end, *())``, which
    raised: every batch holding a gap and another partition failed and was read again, forever
    (seen in the task service's relay-resilience test)."""
    applied: list[int] = []
    processor = recording("two-partitions", topic, MemoryTarget(), applied)
    settings = settings_for("task", postgres_url, kafka_bootstrap, db_schema)
    dead_letters = DeadLetterStore(postgres_url, db_schema)
    binding = KafkaConsumerBinding(processor, settings, dead_letters)
    await ensure_topics(settings, [topic])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    broker = KafkaBroker(kafka_bootstrap, log_level=30)
    binding.subscribe(broker)
    await asyncio.to_thread(dead_letters.create_table)
    other = uuid4()
    first_of_other = replace(
        envelope(
            7, 0, TaskCancelled(task_id=other, owner_id=uuid4(), occurred_at=datetime.now(UTC))
        ),
        topic=topic,
        key=str(other),
    )
    try:
        for partition, message in ((0, replace(envelope(2, 1), topic=topic)), (1, first_of_other)):
            key, value, headers = encode_envelope(message)
            await producer.send_and_wait(
                topic, key=key, value=value, headers=list(headers), partition=partition
            )
        await broker.start()

        # Reads the group's committed offsets only: it never subscribes, so it joins nothing.
        reader = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=binding.group_id)
        await reader.start()

        async def other_partition_committed() -> bool:
            return bool(await reader.committed(TopicPartition(topic, 1)) == 1)

        try:
            await eventually(other_partition_committed)
        finally:
            await reader.stop()
        assert 7 in applied
        assert processor.stats.out_of_sequence >= 1  # event 2 waits for event 1
    finally:
        binding.stop()
        await broker.stop()
        await producer.stop()
