"""Faults on a three-node Apache Kafka cluster (replication 3, min.insync.replicas 2, acks=all):
a broker SIGKILLed during live traffic and started again, then the whole cluster restarted.

The relay publishes with the idempotent producer and ``acks=all``; a consumer service applies
every event exactly once. What must hold: no event lost, no duplicate effect, no pause longer
than a leader election, and after a full restart nothing to republish.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from ring_events.topics import TASK_EVENTS, dead_letter_topic
from ring_runtime.embedded import EmbeddedKafka
from ring_runtime.kafka import ensure_topics
from ring_runtime.settings import Settings
from ring_runtime.testing import eventually, settings_for

from .support import Effects, Replica, TaskFeed

#: Three JVMs start (and later restart) inside the test: far beyond the suite's 300 s default on
#: a busy 2-core machine.
pytestmark = [pytest.mark.integration, pytest.mark.apache_kafka, pytest.mark.timeout(900)]

#: A leader election after a SIGKILL: the controller notices the missing heartbeats
#: (broker.session.timeout.ms, 9 s by default) and moves leadership; the clients then refresh
#: their metadata. Generous for a loaded 2-core machine.
ELECTION_BOUND_S = 45.0


@pytest.fixture
def settings(postgres_url: str, kafka_cluster: EmbeddedKafka, db_schema: str) -> Settings:
    return settings_for(
        "task",
        postgres_url,
        kafka_cluster.bootstrap,
        db_schema,
        RING_KAFKA_ENABLE_IDEMPOTENCE="true",
        RING_TOPIC_REPLICATION="3",
        RING_RELAY_POLL_INTERVAL_MS="20",
        RING_RELAY_LOSS_CHECK_INTERVAL_MS="500",
    )


async def _end_offsets(bootstrap: str, topic: str) -> int:
    """Records on ``topic``: the sum of its partitions' end offsets."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def _applied(effects: Effects, count: int) -> bool:
    return len(effects.applied) >= count


async def test_a_killed_broker_loses_nothing_and_a_full_restart_needs_no_republish(
    settings: Settings, kafka_cluster: EmbeddedKafka, db_schema: str
) -> None:
    await ensure_topics(settings, [TASK_EVENTS, dead_letter_topic(TASK_EVENTS)])
    effects = Effects()
    replica = await Replica(settings, db_schema, effects).start()
    try:
        async with TaskFeed(settings) as feed:
            await feed.write(10)
            await eventually(lambda: _applied(effects, feed.events), within=90)

            # SIGKILL one broker while tasks keep coming; start it again while they still do.
            traffic = asyncio.create_task(feed.write(30, pause=0.05))
            await asyncio.sleep(0.5)
            killed_at = time.monotonic()
            await asyncio.to_thread(kafka_cluster.kill_node, 2)
            await asyncio.sleep(5)
            await asyncio.to_thread(kafka_cluster.start_node, 2)
            await traffic
            await eventually(lambda: _applied(effects, feed.events), within=120)
            stall = effects.longest_gap(after=killed_at)
            assert stall < ELECTION_BOUND_S, f"consumption paused {stall:.1f} s"
            assert feed.relay.stats.republishes == 0, "nothing was lost, nothing republished"

            # The whole cluster stops and starts again: records and offsets are on disk.
            published = await _end_offsets(settings.kafka_bootstrap, TASK_EVENTS)
            assert published >= feed.events
            await asyncio.to_thread(kafka_cluster.restart)
            assert await _end_offsets(settings.kafka_bootstrap, TASK_EVENTS) == published
            await feed.write(10)
            await eventually(lambda: _applied(effects, feed.events), within=180)
            assert feed.relay.stats.republishes == 0, "a full restart needs no republish"
    finally:
        await replica.stop()

    assert len(effects.applied) == feed.events, "no event lost, no effect twice"
    assert len(set(effects.applied)) == feed.events
    assert replica.processor.stats.out_of_sequence == 0
