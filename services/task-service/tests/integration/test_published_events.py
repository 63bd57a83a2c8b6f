"""A task drafted and published through the API is on ``ring.task.events`` as contracted."""

from __future__ import annotations

from uuid import UUID

import jsonschema
import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from litestar.testing import AsyncTestClient

from ring_events.registry import json_schema
from ring_events.topics import TASK_EVENTS
from ring_runtime.settings import Settings
from ring_runtime.testing import eventually
from ring_task.main import create_app

from .conftest import actor, new_task

pytestmark = [pytest.mark.integration, pytest.mark.kafka_lane]

REQUIRED_HEADERS = {
    "notification_id",
    "previous_notification_id",
    "event_id",
    "occurred_at",
    "correlation_id",
    "causation_id",
    "traceparent",
}


async def test_created_and_publish_requested_reach_the_topic(
    task_settings: Settings, owner: UUID
) -> None:
    async with AsyncTestClient(create_app(task_settings)) as client:
        created = await client.post(
            "/tasks", json=new_task(), headers={**actor(owner), "X-Correlation-ID": "corr-1"}
        )
        assert created.status_code == 201, created.text
        task_id = created.json()["id"]
        published = await client.post(f"/tasks/{task_id}/publish", headers=actor(owner))
        assert published.status_code == 202, published.text
        assert published.json()["status"] == "funding"
        records = await _records_of(task_settings.kafka_bootstrap, task_id, expected=2)
    schema = json_schema(TASK_EVENTS)
    types = []
    for record in records:
        headers = {name: value.decode() for name, value in record.headers}
        assert record.key == task_id.encode()
        assert headers.keys() >= REQUIRED_HEADERS, headers
        assert headers["traceparent"].startswith("00-")
        body = msgspec.json.decode(record.value)
        jsonschema.validate(body, schema)
        types.append(body["type"])
    assert types == ["task.created.v1", "task.publish_requested.v1"]
    first, second = ({n: v.decode() for n, v in r.headers} for r in records)
    assert first["correlation_id"] == "corr-1"
    assert second["previous_notification_id"] == first["notification_id"]
    assert int(second["notification_id"]) > int(first["notification_id"])


async def _records_of(
    bootstrap: str, key: str, expected: int
) -> list[ConsumerRecord[bytes, bytes]]:
    """Records with ``key`` on the task topic, read by a plain aiokafka consumer."""
    consumer = AIOKafkaConsumer(
        TASK_EVENTS, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[ConsumerRecord[bytes, bytes]] = []
    try:

        async def read() -> bool:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                found.extend(r for r in records if r.key == key.encode())
            return len(found) >= expected

        await eventually(read)
    finally:
        await consumer.stop()
    return sorted(found, key=lambda r: r.offset)
