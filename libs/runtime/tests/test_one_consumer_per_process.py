"""One Kafka consumer per service process for all its exactly-once consumers (decision 0009 §6)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka import KafkaBroker

from ring_events.envelope import encode_envelope
from ring_events.task import TaskCancelled
from ring_events.topics import MATCHING_EVENTS, TASK_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor, KafkaConsumerBinding, subscribe_together
from ring_runtime.dead_letters import DeadLetterStore
from ring_runtime.kafka import ensure_topics
from ring_runtime.testing import eventually, settings_for

from .test_consumer_rules import MemoryTarget, envelope


async def test_a_topic_the_broker_lost_does_not_stall_the_other_topics(
    kafka_bootstrap: str, postgres_url: str, db_schema: str
) -> None:
    """Tansu loses every topic when it restarts, and a topic comes back only when its owner's
    relay recreates it. A process reading it among others must go on applying the others.

    With ``consumer.commit()`` (every assigned partition) aiokafka retried the commit of the
    lost topic's partitions forever, and the process's only consumer stalled."""
    settings = settings_for("task", postgres_url, kafka_bootstrap, db_schema)
    await ensure_topics(settings, [TASK_EVENTS, MATCHING_EVENTS])
    target = MemoryTarget()

    def cancelled(event: Any, env: Any) -> None:
        target.effects.append(str(env.notification_id))

    dead_letters = DeadLetterStore(postgres_url, db_schema)
    await asyncio.to_thread(dead_letters.create_table)
    tasks = ExactlyOnceProcessor("tasks", TASK_EVENTS, target, {TaskCancelled: cancelled})
    matching = ExactlyOnceProcessor("matching", MATCHING_EVENTS, MemoryTarget(), {})
    broker = KafkaBroker(settings.kafka_servers)
    subscribe_together(
        broker,
        [KafkaConsumerBinding(p, settings, dead_letters) for p in (tasks, matching)],
        "ring.test.consumers",
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await broker.start()
    await producer.start()
    await admin.start()
    try:

        async def publish(notification_id: int) -> None:
            key, value, headers = encode_envelope(envelope(notification_id, notification_id - 1))
            await producer.send_and_wait(TASK_EVENTS, value=value, key=key, headers=headers)

        async def applied(count: int) -> bool:
            return len(target.effects) >= count

        await publish(1)
        await eventually(lambda: applied(1), within=30)
        await admin.delete_topics([MATCHING_EVENTS])
        for notification_id in (2, 3, 4):  # each batch after the loss is committed, or tried
            await publish(notification_id)
            await eventually(lambda n=notification_id: applied(n), within=20)  # type: ignore[misc]
        assert target.effects == ["1", "2", "3", "4"]
    finally:
        await admin.close()
        await producer.stop()
        await broker.stop()
