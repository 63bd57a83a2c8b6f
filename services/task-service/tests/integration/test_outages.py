"""A service process rides out PostgreSQL restarts and detects every broker loss (issue 17)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer
from litestar.testing import AsyncTestClient
from psycopg import sql

from ring_events.headers import NOTIFICATION_ID, PREVIOUS_NOTIFICATION_ID
from ring_events.topics import TASK_EVENTS
from ring_runtime.embedded import EmbeddedPostgres, free_port
from ring_runtime.relay import OutboxRelay
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.testing import FAST_RELAY, TEST_KAFKA_TIMINGS, eventually, settings_for
from ring_runtime.testing.fixtures import BrokerControl
from ring_task.application import Tasks
from ring_task.main import TRANSLATOR, create_app

from .test_relay_resilience import (
    _async,
    _draft_and_publish,
    _published_ids,
    _relay_position,
    _topic_notifications,
)

pytestmark = pytest.mark.integration


def _ready(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}


def _last_notification(settings: Settings) -> int:
    return max(max(ids) for ids in _published_ids(settings).values())


@pytest.mark.timeout(600)
async def test_the_relay_survives_a_postgres_restart(kafka_bootstrap: str) -> None:
    """PostgreSQL stops under a running service and comes back: the process stays up, is not
    ready while the store is down, and relays what was written after the restart."""
    # Not under pytest's tmp_path, which other sessions of this user may prune meanwhile.
    data = Path(tempfile.mkdtemp(prefix="ring-outage-"))
    postgres = EmbeddedPostgres(data / "pg", free_port(), durable=False).start()
    try:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(postgres.url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        settings = settings_for("task", postgres.url, kafka_bootstrap, schema)
        port = free_port()
        service = subprocess.Popen(  # noqa: ASYNC220 - the service under test
            [sys.executable, "-m", "ring_runtime.commands.serve", "task"],
            env={
                **os.environ,
                "RING_DATABASE_URL": postgres.url,
                "RING_KAFKA_BOOTSTRAP": kafka_bootstrap,
                "RING_DB_SCHEMA": schema,
                "RING_HTTP_PORT": str(port),
                "RING_RELAY_POLL_INTERVAL_MS": "20",
                "RING_LOG_LEVEL": "WARNING",
                **TEST_KAFKA_TIMINGS,
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await asyncio.to_thread(_draft_and_publish, settings, 10)
            last = _last_notification(settings)
            await eventually(lambda: _async(_relay_position(settings) == last), within=180)
            await eventually(lambda: _async(_ready(port)[0] == 200), within=120)

            await asyncio.to_thread(postgres.stop)
            await eventually(lambda: _async(_ready(port)[0] == 503), within=15)
            await asyncio.sleep(4)  # several relay retries fail while PostgreSQL is down
            status, body = _ready(port)
            assert status == 503
            relay = body["relay"]
            assert isinstance(relay, dict)
            assert not relay["ok"]
            assert relay["failures"] >= 2

            await asyncio.to_thread(postgres.start)
            await asyncio.to_thread(_draft_and_publish, settings, 10)
            last = _last_notification(settings)
            await eventually(lambda: _async(_relay_position(settings) == last), within=30)
            await eventually(lambda: _async(_ready(port)[0] == 200), within=15)
            assert service.poll() is None, "the process must ride the outage out"
        finally:
            service.terminate()
            try:
                service.wait(timeout=90)
            except subprocess.TimeoutExpired:
                service.kill()
                raise
    finally:
        postgres.stop()
        shutil.rmtree(data, ignore_errors=True)


@pytest.mark.timeout(600)
async def test_every_broker_loss_is_detected_before_publishing(
    task_settings: Settings, broker_control: BrokerControl
) -> None:
    """Ten broker restarts, each followed at once by new events (which the relay would publish
    onto the empty broker): every loss is detected and every event ends up on the topic."""
    async with AsyncTestClient(create_app(task_settings)) as client:
        relay = client.app.state.runtime.relay
        ids: set[UUID] = set()
        restarts = 10
        ids.update(await asyncio.to_thread(_draft_and_publish, task_settings, 5))
        last = _last_notification(task_settings)
        await eventually(lambda: _async(relay.stats.position == last), within=30)
        for restart in range(1, restarts + 1):
            await asyncio.to_thread(broker_control.restart)
            ids.update(await asyncio.to_thread(_draft_and_publish, task_settings, 3))

            async def republished(n: int = restart) -> bool:
                return bool(relay.stats.republishes == n)

            await eventually(republished, within=30)
            last = _last_notification(task_settings)

            async def relayed(n: int = last) -> bool:
                return bool(relay.stats.position == n)

            await eventually(relayed, within=30)
        assert relay.stats.republishes == restarts
    expected = _published_ids(task_settings)
    total = sum(len(v) for v in expected.values())
    seen = await _topic_notifications(task_settings.kafka_bootstrap, {str(i) for i in ids}, total)
    for key, notifications in expected.items():
        assert list(dict.fromkeys(seen[key])) == notifications, key


def _interleaved_tasks(settings: Settings, count: int) -> None:
    """Draft ``count`` tasks, then publish each: every aggregate's second event comes after the
    other aggregates' first ones, so its chain skips over them."""
    tasks = create_application(Tasks, settings)
    try:
        deadline = datetime.now(UTC) + timedelta(days=3)
        owners = {
            tasks.create_task(
                owner,
                title=f"task {n}",
                deadline=deadline,
                commission_minor=100,
                currency="CNY",
                slots=1,
            ): owner
            for n, owner in enumerate(uuid.uuid4() for _ in range(count))
        }
        for task_id, owner in owners.items():
            tasks.publish(task_id, owner)
    finally:
        tasks.close()


def _chains(settings: Settings) -> dict[str, list[tuple[int, int]]]:
    """Each aggregate's published events as (notification id, previous one), from the store."""
    return {
        key: list(zip(ids, [0, *ids[:-1]], strict=True))
        for key, ids in _published_ids(settings).items()
    }


async def _chains_on_topic(
    bootstrap: str, keys: set[str], expected: int
) -> dict[str, list[tuple[int, int]]]:
    """(notification id, previous notification id) of the records of ``keys``, in offset order
    per key, first copies only."""
    consumer = AIOKafkaConsumer(
        TASK_EVENTS, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    seen: dict[str, dict[tuple[int, int], None]] = defaultdict(dict)
    try:

        async def read() -> bool:
            for records in (await consumer.getmany(timeout_ms=200, max_records=5000)).values():
                for record in records:
                    if record.key.decode() not in keys:
                        continue
                    headers = {k: v.decode() for k, v in record.headers}
                    chain = (
                        int(headers[NOTIFICATION_ID]),
                        int(headers[PREVIOUS_NOTIFICATION_ID]),
                    )
                    seen[record.key.decode()][chain] = None
            return sum(map(len, seen.values())) >= expected

        await eventually(read, within=60)
    finally:
        await consumer.stop()
    return {key: list(chains) for key, chains in seen.items()}


@pytest.mark.timeout(300)
async def test_a_republished_history_keeps_every_aggregates_chain(
    postgres_url: str, kafka_bootstrap: str, db_schema: str, broker_control: BrokerControl
) -> None:
    """After a loss the relay republishes the history in batches of ten times its own, then the
    events written since: on the new topic every aggregate's events are in order, each naming
    the one before it (decision 0001; looked up by version since session 11)."""
    settings = settings_for(
        "task",
        postgres_url,
        kafka_bootstrap,
        db_schema,
        RING_RELAY_BATCH_SIZE="2",
        **FAST_RELAY,
    )
    await asyncio.to_thread(_interleaved_tasks, settings, 15)
    tasks = create_application(Tasks, settings)
    relay = OutboxRelay(tasks, TRANSLATOR, settings, source="test")
    running = asyncio.create_task(relay.run())
    try:
        await eventually(
            lambda: _async(relay.stats.position == _last_notification(settings)), within=30
        )
        await asyncio.to_thread(broker_control.restart)
        await asyncio.to_thread(_interleaved_tasks, settings, 3)
        last = _last_notification(settings)
        await eventually(lambda: _async(relay.stats.position == last), within=60)
        assert relay.stats.republishes == 1
    finally:
        relay.stop()
        await running
        tasks.close()
    expected = _chains(settings)
    assert sum(map(len, expected.values())) == 2 * 18
    seen = await _chains_on_topic(kafka_bootstrap, set(expected), sum(map(len, expected.values())))
    assert seen == expected
