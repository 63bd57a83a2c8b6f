"""Publishing a task funds its escrow, or fails cleanly with the exact shortfall."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest
from httpx import AsyncClient

from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.testing import eventually
from ring_task.application import Tasks
from ring_task.domain import Task

from .conftest import create_and_publish, deposit, task_status, wallet

pytestmark = pytest.mark.integration

SLOT = 10_500  # 10 000 commission + 5 % fee


async def test_publish_with_enough_and_with_too_little_money(
    services: tuple[AsyncClient, AsyncClient], task_settings: Settings
) -> None:
    ledger, tasks = services
    owner = uuid4()
    await deposit(ledger, owner, 25_000)

    funded = await create_and_publish(tasks, owner, slots=2)
    task = await eventually(lambda: task_status(tasks, funded, "published", "funding_failed"))
    assert task["status"] == "published"
    assert await wallet(ledger, owner) == (25_000 - 2 * SLOT, 2 * SLOT)

    unfunded = await create_and_publish(tasks, owner, slots=2)
    task = await eventually(lambda: task_status(tasks, unfunded, "published", "funding_failed"))
    assert task["status"] == "funding_failed"
    assert await wallet(ledger, owner) == (4_000, 2 * SLOT)  # nothing more was held
    assert funding_failure(task_settings, unfunded) == (
        "insufficient funds: 21000 CNY needed, 4000 available, shortfall 17000"
    )


def funding_failure(task_settings: Settings, task_id: str) -> str:
    """The reason the task service recorded for the task's failed funding."""
    app = create_application(Tasks, task_settings)
    try:
        failures = [e for e in app.events.get(UUID(task_id)) if isinstance(e, Task.FundingFailed)]
    finally:
        app.close()
    return failures[-1].reason


async def test_concurrent_publishes_fund_only_the_affordable_ones(
    services: tuple[AsyncClient, AsyncClient],
) -> None:
    ledger, tasks = services
    owner = uuid4()
    await deposit(ledger, owner, 4 * SLOT + 3_000)
    task_ids = await asyncio.gather(*(create_and_publish(tasks, owner) for _ in range(7)))

    async def outcomes() -> list[str] | None:
        found = [await task_status(tasks, t, "published", "funding_failed") for t in task_ids]
        return None if None in found else [t["status"] for t in found if t]

    statuses = await eventually(outcomes, within=45)
    assert statuses.count("published") == 4
    assert statuses.count("funding_failed") == 3
    assert await wallet(ledger, owner) == (3_000, 4 * SLOT)
