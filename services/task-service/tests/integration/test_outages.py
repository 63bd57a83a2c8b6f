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
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from litestar.testing import AsyncTestClient
from psycopg import sql

from ring_runtime.embedded import EmbeddedPostgres, free_port
from ring_runtime.settings import Settings
from ring_runtime.testing import TEST_KAFKA_TIMINGS, eventually, settings_for
from ring_runtime.testing.fixtures import BrokerControl
from ring_task.main import create_app

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
