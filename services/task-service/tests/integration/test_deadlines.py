"""Deadline timers are durable: scheduled by one task-service instance, fired once by the next."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import psycopg
import pytest
from litestar.testing import AsyncTestClient
from psycopg import sql

from ring_runtime.identity import ADMIN, PARTY_B
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.timers import ManualClock
from ring_task.application import Tasks
from ring_task.main import create_app
from ring_task.timers import ORDER_EXPIRY, TASK_EXPIRY, TaskTimers

from .conftest import actor, new_task

pytestmark = pytest.mark.integration


def _fired(settings: Settings) -> list[tuple[str, int]]:
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT purpose, attempts FROM {}.timers WHERE fired_at IS NOT NULL").format(
                sql.Identifier(settings.db_schema)
            )
        ).fetchall()
    return sorted((str(purpose), int(attempts)) for purpose, attempts in rows)


async def test_deadline_timers_survive_a_restart_and_fire_once(
    task_settings: Settings, owner: UUID, verified_provider: Callable[[], UUID]
) -> None:
    clock = ManualClock(datetime.now(UTC))
    deadline = clock.now() + timedelta(days=1)
    provider, late = verified_provider(), verified_provider()
    first = create_app(task_settings, clock=clock, timer_poll_interval=3600)
    async with AsyncTestClient(first) as client:
        created = await client.post(
            "/tasks", json=new_task(deadline=deadline.isoformat(), slots=2), headers=actor(owner)
        )
        task_id = UUID(created.json()["id"])
        assert (
            await client.post(f"/tasks/{task_id}/publish", headers=actor(owner))
        ).status_code == 202
        commands = create_application(Tasks, task_settings)
        commands.mark_funded(task_id)  # stands in for ledger.funds_reserved
        commands.close()
        taken = await client.post(f"/tasks/{task_id}/orders", headers=actor(provider, PARTY_B))
        order_id = UUID(taken.json()["id"])
        parts: TaskTimers = first.state.task_timers
        parts.follower.catch_up()
        assert parts.timers.pending(TASK_EXPIRY, task_id) == deadline
        assert parts.timers.pending(ORDER_EXPIRY, order_id) == deadline
        clock.advance(timedelta(hours=23))
        assert parts.timers.fire_due() == 0

    second = create_app(task_settings, clock=clock, timer_poll_interval=3600)
    async with AsyncTestClient(second) as client:
        parts = second.state.task_timers
        assert parts.timers.pending(TASK_EXPIRY, task_id) == deadline, "the restart lost it"
        clock.advance(timedelta(hours=1))
        assert parts.timers.fire_due() == 2
        assert parts.timers.fire_due() == 0
        order = (await client.get(f"/orders/{order_id}", headers=actor(owner))).json()
        assert order["status"] == "expired"
        task = (await client.get(f"/tasks/{task_id}", headers=actor(uuid4(), ADMIN))).json()
        assert task["status"] == "completed"
        refused = await client.post(f"/tasks/{task_id}/orders", headers=actor(late, PARTY_B))
        assert refused.status_code == 409  # no new orders after the deadline
        parts.follower.catch_up()  # the completion cancels nothing left to fire
        clock.advance(timedelta(days=30))
        assert parts.timers.fire_due() == 0
    assert _fired(task_settings) == [(ORDER_EXPIRY, 1), (TASK_EXPIRY, 1)]
