"""``ring projections rebuild task NAME --verify`` for read models fed from ``ring.task.events``:
the board and the orders by party are rebuilt from the task store through its translator and
compared with the live tables the consumers keep, on real PostgreSQL and broker."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import psycopg
import pytest
from click.testing import CliRunner, Result
from litestar import Litestar
from litestar.testing import AsyncTestClient
from psycopg.sql import SQL, Identifier

from ring_runtime.commands.projections import projections
from ring_runtime.identity import PARTY_B
from ring_runtime.settings import Settings
from ring_runtime.testing import eventually
from ring_task.main import create_app

from .conftest import actor, new_task

pytestmark = pytest.mark.integration


def _rebuild(settings: Settings, name: str) -> Result:
    env = {"RING_DATABASE_URL": settings.database_url, "RING_DB_SCHEMA": settings.db_schema}
    return CliRunner().invoke(projections, ["rebuild", "task", name, "--verify"], env=env)


async def _lifecycles(client: AsyncTestClient[Litestar], owner: UUID, providers: Any) -> str:
    """Two tasks, one published with two orders taken and one declined; returns its id."""
    published = await client.post("/tasks", json=new_task(slots=3), headers=actor(owner))
    draft = await client.post("/tasks", json=new_task(title="A draft"), headers=actor(owner))
    assert published.status_code == draft.status_code == 201
    task_id: str = published.json()["id"]
    publishing = await client.post(f"/tasks/{task_id}/publish", headers=actor(owner))
    assert publishing.status_code == 202, publishing.text
    await asyncio.to_thread(client.app.state.application.mark_funded, task_id)
    for _ in range(3):
        taken = await client.post(f"/tasks/{task_id}/orders", headers=actor(providers(), PARTY_B))
        assert taken.status_code == 201, taken.text
    return task_id


async def test_the_board_and_the_orders_by_party_rebuild_identical_and_an_edited_row_shows(
    task_settings: Settings, owner: UUID, verified_provider: Any
) -> None:
    async with AsyncTestClient(create_app(task_settings)) as client:
        task_id = await _lifecycles(client, owner, verified_provider)

        async def board_shows_the_orders() -> bool:
            board = await client.get("/tasks?status=published", headers=actor(owner))
            listed = await client.get(f"/orders?task_id={task_id}", headers=actor(owner))
            rows = [row for row in board.json()["items"] if row["id"] == task_id]
            return rows != [] and rows[0]["slots_left"] == 0 and len(listed.json()["items"]) == 3

        assert await eventually(board_shows_the_orders)
        # (The provider standing here is seeded, not fed from a matching store.)
        for model in ("board", "orders-by-party"):
            clean = await asyncio.to_thread(_rebuild, task_settings, model)
            assert clean.exit_code == 0, clean.output
            assert f"task/{model}: identical to the live model" in clean.output

        with psycopg.connect(task_settings.database_url, autocommit=True) as conn:
            conn.execute(
                SQL("UPDATE {} SET title = 'edited in the table' WHERE id = %s").format(
                    Identifier(task_settings.db_schema, "task_board")
                ),
                (task_id,),
            )
        broken = await asyncio.to_thread(_rebuild, task_settings, "board")
        assert broken.exit_code == 1, broken.output
        assert "task_board: 1 row(s) only in the live model, 1 only in the rebuild" in (
            broken.output
        )
        assert '"title": "edited in the table"' in broken.output
        assert '"title": "Label 100 street images"' in broken.output
        assert "task_board_slots: " not in broken.output  # the slots table is still equal
