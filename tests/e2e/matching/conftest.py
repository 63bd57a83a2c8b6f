"""Fixtures of the matching tests that boot the task service too: both services in-process on
their own schemas, one broker (cross-service tests live under tests/e2e, docs/conventions.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient

from ring_matching.main import create_app as create_matching_app
from ring_runtime.identity import PARTY_B
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.testing import actor_headers
from ring_task.application import Tasks
from ring_task.main import create_app as create_task_app


@pytest.fixture
def matching_settings(service_settings: Callable[..., Settings]) -> Settings:
    return service_settings("matching")


@pytest.fixture
async def services(
    task_settings: Settings, matching_settings: Settings
) -> AsyncIterator[tuple[AsyncTestClient[Any], AsyncTestClient[Any]]]:
    """The task and matching services in-process, on one broker: ``(task, matching)``."""
    async with (
        AsyncTestClient(create_task_app(task_settings)) as task_client,
        AsyncTestClient(create_matching_app(matching_settings)) as matching_client,
    ):
        yield task_client, matching_client


@pytest.fixture
def tasks(task_settings: Settings) -> Iterator[Tasks]:
    """The task application on the task service's schema, to stand in for the ledger."""
    app = create_application(Tasks, task_settings)
    yield app
    app.close()


async def qualify(matching: AsyncTestClient[Any], provider: UUID) -> None:
    """The provider submits a qualification: matching now knows it (and shows its record)."""
    response = await matching.post(
        f"/providers/{provider}/qualifications",
        json={"kind": "certificate", "reference": "CVAT-42", "skills": ["labeling"]},
        headers=actor_headers(provider, PARTY_B),
    )
    assert response.status_code == 201, response.text


def new_task(**overrides: Any) -> dict[str, Any]:
    """A valid task draft as the task API takes it."""
    body: dict[str, Any] = {
        "title": "Label street images",
        "description": "Draw boxes around every car.",
        "deadline": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "commission_minor": 10_000,
        "currency": "CNY",
        "slots": 3,
        "required_skills": ["labeling"],
    }
    body.update(overrides)
    return body


async def publish_funded_task(
    client: AsyncTestClient[Any], tasks: Tasks, owner: UUID, **overrides: Any
) -> str:
    """Draft, publish and (standing in for the ledger) fund a task; returns its id."""
    created = await client.post("/tasks", json=new_task(**overrides), headers=actor_headers(owner))
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    published = await client.post(f"/tasks/{task_id}/publish", headers=actor_headers(owner))
    assert published.status_code == 202, published.text
    await asyncio.to_thread(tasks.mark_funded, UUID(task_id))
    return str(task_id)
