"""What Apache Kafka does and Tansu cannot, switched on and checked on the session's node:
the idempotent producer, true end offsets (broker-side lag), consumer-group rebalancing between
two replicas of a service, the deployment's topic settings, and the SCRAM listener."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import KafkaError

from ring_events.topics import TASK_EVENTS, dead_letter_topic
from ring_runtime.embedded import EmbeddedKafka
from ring_runtime.kafka import ensure_topics, producer_config
from ring_runtime.settings import Settings
from ring_runtime.testing import eventually, settings_for
from ring_runtime.testing.sources import SCRAM_TEST_USERS

from .support import Effects, Replica, TaskFeed

pytestmark = [pytest.mark.integration, pytest.mark.apache_kafka]


@pytest.fixture
def settings(postgres_url: str, apache_kafka: EmbeddedKafka, db_schema: str) -> Settings:
    return settings_for(
        "task", postgres_url, apache_kafka.bootstrap, db_schema, RING_RELAY_POLL_INTERVAL_MS="20"
    )


async def _admin(bootstrap: str, **options: object) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options)
    await admin.start()
    return admin


async def test_the_lane_runs_the_idempotent_producer(settings: Settings) -> None:
    assert settings.kafka_enable_idempotence, "the Kafka lane turns idempotence on"
    topic = f"test.idempotent.{uuid.uuid4().hex[:8]}"
    admin = await _admin(settings.kafka_bootstrap)
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(**producer_config(settings))
    await producer.start()  # Tansu fails here: InitProducerId answers UnknownError
    try:
        await producer.send_and_wait(topic, b"once", key=b"k")
        manager = producer._txn_manager
        assert manager is not None
        assert manager.producer_id >= 0, "the broker handed out a producer id"
    finally:
        await producer.stop()


async def test_end_offsets_are_the_log_end_so_lag_is_measured_on_the_broker(
    settings: Settings,
) -> None:
    topic, group = f"test.lag.{uuid.uuid4().hex[:8]}", f"lag-{uuid.uuid4().hex[:8]}"
    partition = TopicPartition(topic, 0)
    admin = await _admin(settings.kafka_bootstrap)
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(**producer_config(settings))
    await producer.start()
    try:
        for batch in ([b"1", b"2"], [b"3", b"4", b"5"]):  # two batches: Tansu would answer 3
            await asyncio.gather(*[await producer.send(topic, v, key=b"k") for v in batch])
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        auto_offset_reset="latest",  # safe on Kafka: "latest" is the true end
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        end = (await consumer.end_offsets([partition]))[partition]
        assert end == 5
        await consumer.commit({partition: 2})
        lag = end - (await consumer.committed(partition) or 0)
        assert lag == 3
    finally:
        await consumer.stop()


async def _members(bootstrap: str, group: str) -> dict[str, int]:
    """Member id → partitions assigned, as the broker's group coordinator describes it."""
    admin = await _admin(bootstrap)
    try:
        described = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    members: dict[str, int] = {}
    for response in described:
        for group_info in response.groups:  # (error, group, state, type, protocol, members…)
            for member in group_info[5]:  # (member_id, client_id, host, metadata, assignment)
                assigned = ConsumerProtocolMemberAssignment.decode(member[4]) if member[4] else None
                members[member[0]] = len(assigned.partitions()) if assigned is not None else 0
    return members


async def test_two_replicas_share_the_partitions_and_one_takes_over(
    settings: Settings, db_schema: str
) -> None:
    await ensure_topics(settings, [TASK_EVENTS, dead_letter_topic(TASK_EVENTS)])
    effects = Effects()
    first = await Replica(settings, db_schema, effects).start()
    second = await Replica(settings, db_schema, effects).start()
    group = first.binding.group_id

    async def split_between_two() -> bool:
        members = await _members(settings.kafka_bootstrap, group)
        return len(members) == 2 and all(members.values())

    await eventually(split_between_two, within=60, every=0.5)
    async with TaskFeed(settings) as feed:
        await feed.write(20)
        await eventually(lambda: _at_least(effects, feed.events), within=60)
        assert first.processor.stats.applied > 0
        assert second.processor.stats.applied > 0, "both replicas consumed their partitions"

        await first.stop()

        async def one_holds_all() -> bool:
            members = await _members(settings.kafka_bootstrap, group)
            return list(members.values()) == [settings.topic_partitions]

        await eventually(one_holds_all, within=60, every=0.5)
        await feed.write(20)
        await eventually(lambda: _at_least(effects, feed.events), within=60)
    await second.stop()
    assert len(effects.applied) == feed.events, "every event had its effect exactly once"
    assert len(set(effects.applied)) == feed.events


async def _at_least(effects: Effects, count: int) -> bool:
    return len(effects.applied) >= count


async def test_topics_are_created_with_the_deployment_settings(
    postgres_url: str, db_schema: str, apache_kafka: EmbeddedKafka
) -> None:
    settings = settings_for(
        "task", postgres_url, apache_kafka.bootstrap, db_schema, RING_TOPIC_PARTITIONS="12"
    )
    events = f"ring.test{uuid.uuid4().hex[:8]}.events"  # a context topic no test created yet
    dead = dead_letter_topic(events)
    await ensure_topics(settings, [events, dead])
    admin = await _admin(settings.kafka_bootstrap)
    try:

        async def partitions() -> dict[str, int]:
            described = await admin.describe_topics([events, dead])
            counts = {t["topic"]: len(t["partitions"]) for t in described}
            return counts if all(counts.values()) else {}  # metadata still propagating

        assert await eventually(partitions, within=30) == {events: 12, dead: 12}
        configs = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t) for t in (events, dead)]
        )
    finally:
        await admin.close()
    values = {
        resource[3]: {entry[0]: entry[1] for entry in resource[4]}
        for response in configs
        for resource in response.resources
    }
    # deploy/k8s/components/platform/topics.yaml and deploy/compose/kafka-init.sh
    assert values[events]["retention.ms"] == "-1"
    assert values[events]["cleanup.policy"] == "delete"
    assert values[dead]["retention.ms"] == "2592000000"
    assert values[dead]["cleanup.policy"] == "delete"


async def test_nothing_is_created_by_producing_as_in_production(settings: Settings) -> None:
    producer = AIOKafkaProducer(**producer_config(settings), request_timeout_ms=3000)
    await producer.start()
    try:
        with pytest.raises(KafkaError):
            await asyncio.wait_for(producer.send_and_wait("ring.not.created", b"x"), 30)
    finally:
        await producer.stop()


async def test_the_scram_listener_admits_the_user_and_refuses_a_wrong_password(
    apache_kafka: EmbeddedKafka,
) -> None:
    ((user, password),) = SCRAM_TEST_USERS.items()
    sasl = {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": user,
    }
    topic = f"test.scram.{uuid.uuid4().hex[:8]}"
    admin = await _admin(apache_kafka.sasl_bootstrap, **sasl, sasl_plain_password=password)
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=apache_kafka.sasl_bootstrap, **sasl, sasl_plain_password=password
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"over SCRAM")
    finally:
        await producer.stop()

    intruder = AIOKafkaProducer(
        bootstrap_servers=apache_kafka.sasl_bootstrap, **sasl, sasl_plain_password="wrong"
    )
    with pytest.raises(KafkaError):
        await asyncio.wait_for(intruder.start(), 30)
    await intruder.stop()


async def test_a_service_logs_in_with_its_scram_user_as_in_production(
    postgres_url: str, db_schema: str, apache_kafka: EmbeddedKafka
) -> None:
    """Ring's own SASL settings (RING_KAFKA_SECURITY_PROTOCOL and the SCRAM user of the
    production manifests) carry the relay, the topic creation and a consuming service."""
    ((user, password),) = SCRAM_TEST_USERS.items()
    settings = settings_for(
        "task",
        postgres_url,
        apache_kafka.sasl_bootstrap,
        db_schema,
        RING_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        RING_KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
        RING_KAFKA_SASL_USERNAME=user,
        RING_KAFKA_SASL_PASSWORD=password,
        RING_RELAY_POLL_INTERVAL_MS="20",
    )
    await ensure_topics(settings, [TASK_EVENTS, dead_letter_topic(TASK_EVENTS)])
    effects = Effects()
    replica = await Replica(settings, db_schema, effects).start()
    try:
        async with TaskFeed(settings) as feed:
            await feed.write(5)

            async def all_applied() -> bool:
                # the group may also hold earlier tests' records: count this feed's tasks only
                ours = [e for e in effects.applied if e[0] in {str(i) for i in feed.ids}]
                return len(ours) == feed.events

            await eventually(all_applied, within=60)
    finally:
        await replica.stop()
