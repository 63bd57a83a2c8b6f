"""A service process serves HTTP while its consumers are still joining their groups (issue 17).

Joining takes about a second per subscriber on Tansu (faststream starts them one after the
other), so a restarted process that waited for it before serving could not answer within 5 s
of a kill. The broker connection is made in the background; ``/ready`` says so until it is.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from litestar.testing import AsyncTestClient

from ring_runtime.dead_letters import DeadLetterStore
from ring_runtime.embedded import free_port
from ring_runtime.process import TASK_DIED_EXIT_CODE, create_service_app
from ring_runtime.testing import settings_for
from ring_runtime.testing.polling import eventually

from .test_consumer_redelivery import publish, recording
from .test_consumer_rules import MemoryTarget

pytestmark = pytest.mark.integration


async def test_health_answers_before_the_consumers_have_joined_and_ready_follows(
    kafka_bootstrap: str, postgres_url: str, db_schema: str, topic: str, tmp_path: Path
) -> None:
    applied: list[int] = []
    processors = [
        recording(f"early-{n}-{uuid4().hex[:6]}", topic, MemoryTarget(), applied) for n in (1, 2)
    ]
    settings = settings_for(
        "task", postgres_url, kafka_bootstrap, db_schema, RING_DATA_DIR=str(tmp_path)
    )
    app = create_service_app(
        settings=settings,
        title="early",
        route_handlers=[],
        application=None,
        translator=None,
        processors=processors,
    )
    async with AsyncTestClient(app) as client:
        assert (await client.get("/health")).status_code == 200
        starting = await client.get("/ready")
        assert starting.status_code == 503, starting.json()
        assert starting.json()["broker"] == "starting"
        assert DeadLetterStore(postgres_url, db_schema).counts() == {}  # its table exists already

        async def ready() -> bool:
            return (await client.get("/ready")).status_code == 200

        await eventually(ready, within=60)
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            await publish(producer, topic, 1)
        finally:
            await producer.stop()

        async def both_applied() -> bool:
            return len(applied) == 2  # once by each consumer

        await eventually(both_applied, within=30)


def test_a_broker_down_at_start_still_ends_the_process(
    postgres_url: str, db_schema: str, tmp_path: Path
) -> None:
    """The connection is made after the API serves, but a broker that cannot be reached then
    ends the process, as a failed start always did, so that its supervisor starts it again."""
    env = {
        **os.environ,
        "RING_DATABASE_URL": postgres_url,
        "RING_DB_SCHEMA": db_schema,
        "RING_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",  # nothing listens there
        "RING_HTTP_PORT": str(free_port()),
        "RING_DATA_DIR": str(tmp_path),
    }
    served = subprocess.run(
        [sys.executable, "-m", "ring_runtime.commands.serve", "notification"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert served.returncode == TASK_DIED_EXIT_CODE, served.stderr.decode()[-3000:]
