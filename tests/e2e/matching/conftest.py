"""Fixtures of the matching tests that boot the task service too: both services in-process on
their own schemas, one broker (cross-service tests live under tests/e2e, docs/conventions.md)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest
from litestar.testing import AsyncTestClient
from psycopg import sql

from ring_matching.main import create_app as create_matching_app
from ring_runtime.identity import PARTY_A, PARTY_B
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.testing import actor_headers, settings_for
from ring_task.application import Tasks
from ring_task.main import create_app as create_task_app

FAST_RELAY = {"RING_RELAY_POLL_INTERVAL_MS": "20", "RING_RELAY_LOSS_CHECK_INTERVAL_MS": "500"}


@pytest.fixture
def task_schema(postgres_url: str) -> Iterator[str]:
    """A second fresh schema, for the task service (``db_schema`` is the matching service's)."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def task_settings(postgres_url: str, kafka_bootstrap: str, task_schema: str) -> Settings:
    return settings_for("task", postgres_url, kafka_bootstrap, task_schema, **FAST_RELAY)


@pytest.fixture
def matching_settings(postgres_url: str, kafka_bootstrap: str, db_schema: str) -> Settings:
    return settings_for("matching", postgres_url, kafka_bootstrap, db_schema, **FAST_RELAY)


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


def actor(user_id: UUID, role: str = PARTY_A) -> dict[str, str]:
    """Headers of a request made by ``user_id`` acting as ``role`` (the gateway's assertion)."""
    return actor_headers(user_id, role)


async def qualify(matching: AsyncTestClient[Any], provider: UUID) -> None:
    """The provider submits a qualification: matching now knows it (and shows its record)."""
    response = await matching.post(
        f"/providers/{provider}/qualifications",
        json={"kind": "certificate", "reference": "CVAT-42", "skills": ["labeling"]},
        headers=actor(provider, PARTY_B),
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
    created = await client.post("/tasks", json=new_task(**overrides), headers=actor(owner))
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    published = await client.post(f"/tasks/{task_id}/publish", headers=actor(owner))
    assert published.status_code == 202, published.text
    await asyncio.to_thread(tasks.mark_funded, UUID(task_id))
    return str(task_id)
