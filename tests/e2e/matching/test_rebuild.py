"""``ring projections rebuild matching …``: the board, fed from *another* context's topic
(``ring.task.events``), is rebuilt from the task service's store through the task translator
and compared with the table the matching consumer keeps from the real broker, while tasks keep
being published; the verification queue is rebuilt from matching's own log."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from litestar.testing import AsyncTestClient
from psycopg.sql import SQL, Identifier

from ring_matching.main import SERVICE
from ring_runtime.rebuild import rebuild_and_compare
from ring_runtime.relay import PublishedEvents
from ring_runtime.settings import Settings
from ring_runtime.testing import eventually
from ring_task.application import Tasks
from ring_task.main import SERVICE as TASK_SERVICE
from ring_task.main import TRANSLATOR

from .conftest import publish_funded_task, qualify

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]


async def _board_size(matching: Client, owner: UUID) -> int:
    response = await matching.get("/board", params={"owner_id": str(owner)})
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


async def test_a_model_fed_from_another_context_rebuilds_identical_on_a_live_system(
    services: tuple[Client, Client],
    tasks: Tasks,
    task_settings: Settings,
    matching_settings: Settings,
) -> None:
    task, matching = services
    owner, provider = uuid4(), uuid4()
    for n in range(3):
        await publish_funded_task(task, tasks, owner, title=f"Task {n}")
    await qualify(matching, provider)

    async def board_has_three() -> bool:
        return await _board_size(matching, owner) == 3

    assert await eventually(board_has_three)

    def task_store(topic: str) -> PublishedEvents:
        assert topic == TRANSLATOR.topic
        assert TASK_SERVICE.event_log is not None
        return PublishedEvents(TASK_SERVICE.event_log(task_settings), TRANSLATOR, task_settings)

    def rebuild(name: str) -> Any:
        return rebuild_and_compare(
            name, SERVICE.read_models[name], matching_settings, sources=task_store
        )

    # More tasks arrive (and the consumer applies them) while the board is rebuilt.
    rebuilding = asyncio.create_task(asyncio.to_thread(rebuild, "board"))
    for n in range(3, 6):
        await publish_funded_task(task, tasks, owner, title=f"Task {n}")
    report = await rebuilding
    assert report.differences == []
    assert report.rows["board_tasks"] >= 3
    queue = await asyncio.to_thread(rebuild, "verification-queue")
    assert queue.differences == []
    assert queue.rows == {"verification_queue": 1}

    with psycopg.connect(matching_settings.database_url, autocommit=True) as conn:
        conn.execute(
            SQL("UPDATE {} SET commission_minor = 1 WHERE title = 'Task 0'").format(
                Identifier(matching_settings.db_schema, "board_tasks")
            )
        )
    broken = await asyncio.to_thread(rebuild, "board")
    [difference] = broken.differences
    assert (difference.table, difference.only_live, difference.only_rebuilt) == (
        "board_tasks",
        1,
        1,
    )
    assert difference.live_rows[0]["commission_minor"] == 1
    assert difference.rebuilt_rows[0]["commission_minor"] == 10_000
