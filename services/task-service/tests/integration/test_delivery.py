"""Exactly-once effect of consumed events, and slot accounting under a race, on real infra."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from litestar import Litestar
from litestar.testing import AsyncTestClient

from ring_events.topics import TASK_EVENTS
from ring_runtime.identity import ADMIN, PARTY_B
from ring_runtime.settings import Settings
from ring_runtime.testing import eventually
from ring_task.main import create_app

from .conftest import actor, new_task

pytestmark = pytest.mark.integration


async def _published_task(client: AsyncTestClient[Litestar], owner: UUID, **fields: Any) -> str:
    created = await client.post("/tasks", json=new_task(**fields), headers=actor(owner))
    assert created.status_code == 201, created.text
    task_id: str = created.json()["id"]
    assert (await client.post(f"/tasks/{task_id}/publish", headers=actor(owner))).status_code == 202
    tasks = client.app.state.application
    await asyncio.to_thread(tasks.mark_funded, task_id)  # what the ledger's answer does
    return task_id


async def _board_slots_left(client: AsyncTestClient[Litestar], task_id: str) -> int | None:
    page = (
        await client.get(
            "/tasks", params={"status": "published", "limit": 100}, headers=actor(uuid4(), ADMIN)
        )
    ).json()
    return next((t["slots_left"] for t in page["items"] if t["id"] == task_id), None)


async def _record(bootstrap: str, key: str, event_type: str) -> ConsumerRecord[bytes, bytes]:
    consumer = AIOKafkaConsumer(
        TASK_EVENTS, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[ConsumerRecord[bytes, bytes]] = []
    try:

        async def read() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(
                    r
                    for r in records
                    if r.key == key.encode()
                    and dict(r.headers)["event_type"] == event_type.encode()
                )
            return bool(found)

        await eventually(read)
    finally:
        await consumer.stop()
    return found[0]


@pytest.mark.kafka_lane
async def test_redelivered_and_late_duplicates_change_nothing(
    task_settings: Settings, owner: UUID, verified_provider: Callable[[], UUID]
) -> None:
    async with AsyncTestClient(create_app(task_settings)) as client:
        task_id = await _published_task(client, owner, slots=3)
        first = await client.post(
            f"/tasks/{task_id}/orders", headers=actor(verified_provider(), PARTY_B)
        )
        assert first.status_code == 201, first.text
        assert await eventually(lambda: _equals(_board_slots_left(client, task_id), 2))

        applied = await _record(
            task_settings.kafka_bootstrap, first.json()["id"], "order.applied.v1"
        )
        producer = AIOKafkaProducer(bootstrap_servers=task_settings.kafka_bootstrap)
        await producer.start()
        try:
            for _ in range(2):  # the same event delivered twice more
                await producer.send_and_wait(
                    TASK_EVENTS, applied.value, key=applied.key, headers=list(applied.headers)
                )
            second = await client.post(
                f"/tasks/{task_id}/orders", headers=actor(verified_provider(), PARTY_B)
            )
            assert second.status_code == 201, second.text
            assert await eventually(lambda: _equals(_board_slots_left(client, task_id), 1))
            # an old event delivered again, after newer ones were applied
            await producer.send_and_wait(
                TASK_EVENTS, applied.value, key=applied.key, headers=list(applied.headers)
            )
        finally:
            await producer.stop()

        stats = client.app.state.runtime.bindings[0].processor.stats
        await eventually(lambda: _true(stats.duplicates >= 3))
        assert await _board_slots_left(client, task_id) == 1
        task = (await client.get(f"/tasks/{task_id}", headers=actor(uuid4(), ADMIN))).json()
        assert task["slots_left"] == 1


# A race decided in PostgreSQL (optimistic concurrency on the task): nothing broker-specific,
# so not again in the Kafka lane.
async def test_fifty_providers_race_for_three_slots(
    task_settings: Settings, owner: UUID, verified_provider: Callable[[], UUID]
) -> None:
    async with AsyncTestClient(create_app(task_settings)) as client:
        task_id = await _published_task(client, owner, slots=3)
        providers = [verified_provider() for _ in range(50)]
        answers = await asyncio.gather(
            *(client.post(f"/tasks/{task_id}/orders", headers=actor(p, PARTY_B)) for p in providers)
        )
        codes = sorted(a.status_code for a in answers)
        assert codes.count(201) == 3, [a.text for a in answers if a.status_code != 409]
        refusals = [a.json()["error"]["code"] for a in answers if a.status_code != 201]
        assert len(refusals) == 47
        assert set(refusals) <= {"no_slots_left", "concurrent_update"}, set(refusals)
        assert all(a.status_code == 409 for a in answers if a.status_code != 201)
        task = (await client.get(f"/tasks/{task_id}", headers=actor(uuid4(), ADMIN))).json()
        assert task["slots_left"] == 0


async def _equals(value: Awaitable[object], expected: object) -> bool:
    return (await value) == expected


async def _true(value: bool) -> bool:
    return value
