"""A consumer waits out outages and never acknowledges a message it could neither apply nor park."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import msgspec
import psycopg
import pytest
from aiokafka import ConsumerRecord
from faststream.exceptions import NackMessage

from ring_events.envelope import encode_envelope
from ring_events.headers import EVENT_TYPE
from ring_events.task import TaskCancelled
from ring_events.topics import TASK_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor, Handler, KafkaConsumerBinding, Outcome
from ring_runtime.dead_letters import DeadLetterStore
from ring_runtime.embedded import free_port
from ring_runtime.testing import settings_for

from .test_consumer_rules import MemoryTarget, envelope


def record(notification_id: int, previous: int) -> ConsumerRecord[bytes, bytes]:
    key, value, headers = encode_envelope(envelope(notification_id, previous))
    return ConsumerRecord(
        topic=TASK_EVENTS,
        partition=0,
        offset=notification_id,
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key or b""),
        serialized_value_size=len(value),
        headers=list(headers),
    )


class NoBroker:
    """Stands in for the faststream broker; the dead-letter copy must not be reached here."""

    async def publish(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("nothing may be published when the dead letter is not stored")


def binding(handler: Handler, database_url: str) -> KafkaConsumerBinding:
    processor = ExactlyOnceProcessor("test", TASK_EVENTS, MemoryTarget(), {TaskCancelled: handler})
    settings = settings_for(
        "task",
        database_url,
        "127.0.0.1:1",
        "s",
        RING_CONSUMER_MAX_ATTEMPTS="2",
        RING_CONSUMER_BACKOFF_MS="1",
    )
    return KafkaConsumerBinding(processor, settings, DeadLetterStore(database_url, "s"))


async def test_a_message_that_cannot_be_parked_is_delivered_again() -> None:
    """The handler fails for good and PostgreSQL is unreachable: the batch is not acked."""

    def broken(event: Any, env: Any, unit: Any) -> None:
        raise ValueError("business rule broken")

    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/ring"
    consumer = binding(broken, unreachable)
    with pytest.raises(NackMessage):
        await consumer.deliver(record(3, 0), NoBroker())  # type: ignore[arg-type]
    assert consumer.processor.stats.dead_lettered == 0
    assert not consumer.health.ok
    assert "OperationalError" in (consumer.health.last_error or "")


async def test_an_outage_is_waited_out_without_using_up_attempts(postgres_url: str) -> None:
    """Seven failures of the store with two attempts allowed: applied, not dead-lettered."""
    failures = iter(range(7))

    def flaky(event: Any, env: Any, unit: Any) -> None:
        if next(failures, None) is not None:
            raise psycopg.OperationalError("server closed the connection unexpectedly")

    consumer = binding(flaky, postgres_url)
    outcome = await consumer.deliver(record(3, 0), NoBroker())  # type: ignore[arg-type]
    assert outcome is Outcome.APPLIED
    assert consumer.processor.stats.dead_lettered == 0
    assert consumer.health.ok
    assert consumer.health.failures == 7


async def test_an_outage_while_stepping_over_an_unknown_type_is_waited_out(
    postgres_url: str,
) -> None:
    """A newer producer's event type: stepping over it writes its position, and a store outage
    there is retried like any other instead of escaping the batch."""
    _, value, headers = encode_envelope(envelope(3, 0))
    unknown = msgspec.json.encode({**msgspec.json.decode(value), "type": "task.renamed.v9"})
    headers = [(k, b"task.renamed.v9" if k == EVENT_TYPE else v) for k, v in headers]
    consumer = binding(lambda event, env, unit: None, postgres_url)
    skip = consumer.processor.skip_unknown
    failures = iter(range(3))

    def flaky_skip(message: Any) -> Outcome:
        if next(failures, None) is not None:
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return skip(message)

    consumer.processor.skip_unknown = flaky_skip  # type: ignore[method-assign]
    stepped = replace(record(3, 0), value=unknown, headers=headers)
    assert await consumer.deliver(stepped, NoBroker()) is Outcome.APPLIED  # type: ignore[arg-type]
    assert consumer.health.ok
    assert consumer.health.failures == 3
