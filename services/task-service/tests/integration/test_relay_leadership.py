"""One active relay per service across replicas: a PostgreSQL advisory lock elects it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from ring_runtime.relay import OutboxRelay
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.testing import eventually
from ring_task.application import Tasks
from ring_task.main import TRANSLATOR

pytestmark = [pytest.mark.integration, pytest.mark.kafka_lane]


async def test_one_replica_relays_and_a_standby_takes_over(task_settings: Settings) -> None:
    first_app = create_application(Tasks, task_settings)
    second_app = create_application(Tasks, task_settings)
    first = OutboxRelay(first_app, TRANSLATOR, task_settings, source="task")
    second = OutboxRelay(second_app, TRANSLATOR, task_settings, source="task")
    running = [asyncio.create_task(first.run()), asyncio.create_task(second.run())]
    try:
        await eventually(lambda: _now(first.stats.is_leader or second.stats.is_leader))
        assert first.stats.is_leader != second.stats.is_leader
        leader, standby = (first, second) if first.stats.is_leader else (second, first)

        owner = uuid4()
        deadline = datetime.now(UTC) + timedelta(days=1)
        first_app.create_task(
            owner, title="a", deadline=deadline, commission_minor=1, currency="CNY", slots=1
        )
        await eventually(lambda: _now(leader.stats.published == 1))
        assert standby.stats.published == 0

        leader.stop()
        await running[0 if leader is first else 1]
        await eventually(lambda: _now(standby.stats.is_leader), within=10)
        first_app.create_task(
            owner, title="b", deadline=deadline, commission_minor=1, currency="CNY", slots=1
        )
        await eventually(lambda: _now(standby.stats.published == 1))
        assert standby.stats.position == 2  # continued from the leader's durable position
    finally:
        first.stop()
        second.stop()
        await asyncio.gather(*running)
        first_app.close()
        second_app.close()


async def _now(value: bool) -> bool:
    return value
