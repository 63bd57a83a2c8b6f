"""The relay survives being killed mid-stream, and the broker losing all its data."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer
from litestar.testing import AsyncTestClient

from ring_events.topics import TASK_EVENTS
from ring_runtime.embedded import free_port
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.testing import TEST_KAFKA_TIMINGS, eventually
from ring_runtime.testing.fixtures import BrokerControl
from ring_task.application import Tasks
from ring_task.main import TRANSLATOR, create_app

from .conftest import actor, new_task

pytestmark = [pytest.mark.integration, pytest.mark.kafka_lane]


def _draft_and_publish(settings: Settings, count: int) -> list[UUID]:
    """Write ``count`` tasks (created + publish requested) straight into the store."""
    tasks = create_application(Tasks, settings)
    try:
        ids = []
        deadline = datetime.now(UTC) + timedelta(days=3)
        for n in range(count):
            task_id = tasks.create_task(
                uuid4(),
                title=f"task {n}",
                deadline=deadline,
                commission_minor=100,
                currency="CNY",
                slots=1,
            )
            tasks.publish(task_id, tasks.get_task(task_id).owner_id)
            ids.append(task_id)
        return ids
    finally:
        tasks.close()


def _published_ids(settings: Settings) -> dict[str, list[int]]:
    """Notification ids of every published event, by aggregate id (the truth, from the store)."""
    query = (
        f'SELECT originator_id, notification_id FROM "{settings.db_schema}".tasks_events '
        "WHERE topic = ANY(%s) ORDER BY notification_id"
    )
    expected: dict[str, list[int]] = defaultdict(list)
    with psycopg.connect(settings.database_url) as conn:
        for originator, nid in conn.execute(query, (TRANSLATOR.stored_topics,)):
            expected[str(originator)].append(nid)
    return expected


def _relay_position(settings: Settings) -> int:
    query = f'SELECT notification_id FROM "{settings.db_schema}".relay_position WHERE topic = %s'
    try:
        with psycopg.connect(settings.database_url) as conn:
            row = conn.execute(query, (TASK_EVENTS,)).fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return row[0] if row else 0


def _start_service(settings: Settings, batch_size: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RING_DATABASE_URL": settings.database_url,
        "RING_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "RING_DB_SCHEMA": settings.db_schema,
        "RING_HTTP_PORT": str(free_port()),
        "RING_RELAY_BATCH_SIZE": str(batch_size),
        "RING_LOG_LEVEL": "WARNING",
        **TEST_KAFKA_TIMINGS,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ring_runtime.commands.serve", "task"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _topic_notifications(bootstrap: str, keys: set[str], total: int) -> dict[str, list[int]]:
    """Notification ids on the topic for ``keys``, in offset order per key (duplicates kept)."""
    consumer = AIOKafkaConsumer(
        TASK_EVENTS, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    seen: dict[str, list[int]] = defaultdict(list)
    try:

        async def read() -> bool:
            for records in (await consumer.getmany(timeout_ms=200, max_records=5000)).values():
                for record in records:
                    key = record.key.decode()
                    if key in keys:
                        seen[key].append(int(dict(record.headers)["notification_id"]))
            return sum(len(set(v)) for v in seen.values()) >= total

        await eventually(read, within=60)
    finally:
        await consumer.stop()
    return seen


async def test_relay_killed_mid_stream_publishes_everything_in_order(
    task_settings: Settings,
) -> None:
    ids = await asyncio.to_thread(_draft_and_publish, task_settings, 300)
    expected = _published_ids(task_settings)
    total = sum(len(v) for v in expected.values())
    last = max(max(v) for v in expected.values())

    service = _start_service(task_settings, batch_size=5)
    try:
        await eventually(lambda: _async(_relay_position(task_settings) > 0), within=60, every=0.005)
        service.send_signal(signal.SIGKILL)
        service.wait(timeout=10)
    finally:
        service.kill()
    killed_at = _relay_position(task_settings)
    assert 0 < killed_at < last, "the kill must land mid-stream"

    service = _start_service(task_settings, batch_size=50)
    try:
        await eventually(lambda: _async(_relay_position(task_settings) == last), within=60)
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=30)

    seen = await _topic_notifications(task_settings.kafka_bootstrap, {str(i) for i in ids}, total)
    for key, notifications in expected.items():
        first_seen = list(dict.fromkeys(seen[key]))  # duplicates allowed (at-least-once)
        assert first_seen == notifications, (key, seen[key])


async def test_broker_restart_during_traffic_ends_in_the_same_state(
    task_settings: Settings, broker_control: BrokerControl, owner: UUID
) -> None:
    async with AsyncTestClient(create_app(task_settings)) as client:
        tasks = client.app.state.application
        created: list[str] = []
        runtime = client.app.state.runtime

        async def traffic(count: int) -> None:
            for _ in range(count):
                answer = await client.post("/tasks", json=new_task(), headers=actor(owner))
                task_id = answer.json()["id"]
                created.append(task_id)
                await client.post(f"/tasks/{task_id}/publish", headers=actor(owner))
                if len(created) % 2:
                    await asyncio.to_thread(tasks.mark_funded, task_id)

        await traffic(15)
        await asyncio.to_thread(broker_control.restart)
        await traffic(15)

        if not broker_control.keeps_data:  # Tansu lost everything: the relay must republish
            await eventually(lambda: _async(runtime.relay.stats.republishes >= 1), within=30)

        async def board_matches_store() -> bool:
            page = (
                await client.get(
                    "/tasks",
                    params={"status": "", "owner_id": str(owner), "limit": 100},
                    headers=actor(owner),
                )
            ).json()
            board = {t["id"]: t["status"] for t in page["items"]}
            truth = {t: str(tasks.get_task(UUID(t)).status) for t in created}
            return board == truth

        await eventually(board_matches_store, within=60, every=0.25)
        stats = runtime.bindings[0].processor.stats
        # every task event was applied once: created + publish requested (+ published for half)
        assert stats.applied >= 30 * 2 + 15
        if broker_control.keeps_data:  # Apache Kafka kept every record: nothing to republish
            assert runtime.relay.stats.republishes == 0


async def _async(value: bool) -> bool:
    return value
