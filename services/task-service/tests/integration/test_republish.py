"""``ring relay republish`` sends only what the topic is missing (its own module: the scan
reads the whole topic, which must hold this test's records only)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from click.testing import CliRunner
from litestar.testing import AsyncTestClient
from psycopg.sql import SQL, Identifier

from ring_events import headers as h
from ring_events.topics import TASK_EVENTS
from ring_runtime.commands.relay import relay
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.testing import eventually
from ring_task.application import Tasks
from ring_task.main import create_app

from .conftest import actor, new_task

pytestmark = pytest.mark.integration


async def _copies_on_topic(bootstrap: str) -> Counter[int]:
    """How many records of each notification id the topic holds."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [
            TopicPartition(TASK_EVENTS, p) for p in consumer.partitions_for_topic(TASK_EVENTS) or ()
        ]
        if not tps:
            await consumer.topics()
            tps = [
                TopicPartition(TASK_EVENTS, p)
                for p in consumer.partitions_for_topic(TASK_EVENTS) or ()
            ]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        copies: Counter[int] = Counter()
        left = {tp for tp in tps if ends[tp]}
        while left:
            for tp, records in (await consumer.getmany(*left, timeout_ms=1000)).items():
                copies.update(int(dict(r.headers)[h.NOTIFICATION_ID]) for r in records)
                if records and records[-1].offset + 1 >= ends[tp]:
                    left.discard(tp)
        return copies
    finally:
        await consumer.stop()


def _republish(settings: Settings, *args: str) -> str:
    env = {
        "RING_DATABASE_URL": settings.database_url,
        "RING_DB_SCHEMA": settings.db_schema,
        "RING_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
    }
    result = CliRunner().invoke(relay, ["republish", "task", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


async def test_republish_sends_only_what_the_broker_lost(
    task_settings: Settings, owner: UUID, kafka_bootstrap: str
) -> None:
    async with AsyncTestClient(create_app(task_settings)) as client:
        for _ in range(2):
            created = await client.post("/tasks", json=new_task(), headers=actor(owner))
            assert created.status_code == 201
        relay_log = client.app.state.runtime.relay.log

        async def relayed() -> bool:
            lag: int = await asyncio.to_thread(relay_log.lag)
            return lag == 0

        await eventually(relayed, within=15)
    first = await _copies_on_topic(kafka_bootstrap)
    assert set(first.values()) == {1}

    # Two more tasks are stored while the relay is down, and its position is moved past them:
    # what a broker that acknowledged records and then lost them looks like from the store.
    tasks = create_application(Tasks, task_settings)
    lost = [
        tasks.create_task(
            owner,
            title=f"lost {n}",
            deadline=datetime.now(UTC) + timedelta(days=3),
            commission_minor=500,
            currency="CNY",
            slots=1,
        )
        for n in range(2)
    ]
    tasks.close()
    with psycopg.connect(task_settings.database_url, autocommit=True) as conn:
        conn.execute(
            SQL("UPDATE {} SET notification_id = (SELECT max(notification_id) FROM {})").format(
                Identifier(task_settings.db_schema, "relay_position"),
                Identifier(task_settings.db_schema, "tasks_events"),
            )
        )

    published, _ = relay_log.published_ids()
    missing = len(published) - len(first)
    assert missing >= 2

    async with AsyncTestClient(create_app(task_settings)):
        output = await asyncio.to_thread(_republish, task_settings)
        assert f"{missing} of {len(published)} published event(s) in range" in output

        async def complete() -> Counter[int]:
            copies = await _copies_on_topic(kafka_bootstrap)
            return copies if set(copies) == set(published) else Counter()

        copies = await eventually(complete, within=15)
        assert set(copies.values()) == {1}, f"some event is on the topic twice: {copies}"

        again = await asyncio.to_thread(_republish, task_settings)
        assert f"0 of {len(published)} published event(s) in range" in again

        one = await asyncio.to_thread(
            _republish, task_settings, "--aggregate", str(lost[0]), "--all"
        )
        assert "1 of 1 published event(s) in range" in one
        since = await asyncio.to_thread(_republish, task_settings, "--from", str(max(copies)))
        assert "0 of 1 published event(s) in range" in since
