"""Kafka client configuration shared by the relay and consumers, and topic creation."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from faststream.security import BaseSecurity, SASLScram256, SASLScram512

from ring_events.topics import dead_letter_topic
from ring_runtime.settings import Settings

log = logging.getLogger("ring.kafka")

#: Event topics are the replayable feed: they keep every record (consumers track per aggregate
#: from the first event on, see docs/decisions/0001-consumer-tracking.md).
EVENT_TOPIC_CONFIG = {"retention.ms": "-1", "cleanup.policy": "delete"}
#: Dead-letter topics keep 30 days, as in the deployment (deploy/compose/kafka-init.sh,
#: deploy/k8s/components/platform/topics.yaml); the parked messages also stay in PostgreSQL.
DEAD_LETTER_TOPIC_CONFIG = {"retention.ms": "2592000000", "cleanup.policy": "delete"}


def connection_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of every aiokafka client: where the broker is and how to log in."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol != "PLAINTEXT":
        config |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password,
        }
    if settings.kafka_security_protocol == "SASL_SSL":
        config["ssl_context"] = create_ssl_context()
    return config


def broker_security(settings: Settings) -> BaseSecurity | None:
    """The same login for faststream's ``KafkaBroker``; ``None`` on a PLAINTEXT listener."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    scram = SASLScram512 if settings.kafka_sasl_mechanism == "SCRAM-SHA-512" else SASLScram256
    return scram(
        settings.kafka_sasl_username,
        settings.kafka_sasl_password,
        use_ssl=settings.kafka_security_protocol == "SASL_SSL",
    )


#: Bytes of records sent to a partition in one request. aiokafka's default (16 KiB, about 15
#: events) split a relay batch of 500 into dozens of requests, each waiting for its
#: acknowledgement; a republish of a long history paid that for every batch.
PRODUCER_BATCH_BYTES = 1024 * 1024


def producer_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of an ``AIOKafkaProducer`` for ``settings``."""
    return {
        **connection_config(settings),
        "enable_idempotence": settings.kafka_enable_idempotence,
        "acks": "all",
        "linger_ms": 5,
        "max_batch_size": PRODUCER_BATCH_BYTES,
        "client_id": f"ring-{settings.service}",
    }


def consumer_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments shared by every Ring consumer (always from the earliest offset)."""
    return {
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.kafka_session_timeout_ms,
        "heartbeat_interval_ms": settings.kafka_heartbeat_interval_ms,
        "fetch_max_wait_ms": settings.kafka_fetch_max_wait_ms,
    }


async def ensure_topics(settings: Settings, topics: Iterable[str]) -> None:
    """Create ``topics`` with Ring's partition count if they do not exist yet."""
    admin = AIOKafkaAdminClient(**connection_config(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if not missing:
            return
        new = [
            NewTopic(
                name=topic,
                num_partitions=settings.topic_partitions,
                replication_factor=settings.topic_replication,
                topic_configs=(
                    DEAD_LETTER_TOPIC_CONFIG
                    if topic.endswith(dead_letter_topic(""))
                    else EVENT_TOPIC_CONFIG
                ),
            )
            for topic in missing
        ]
        try:
            await admin.create_topics(new)
        except TopicAlreadyExistsError:
            log.debug("topics %s were created concurrently", missing)
    finally:
        await admin.close()
