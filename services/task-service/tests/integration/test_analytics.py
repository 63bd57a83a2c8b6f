"""``GET /analytics/me`` and ``GET /internal/analytics``: counts over the task service's read
models, on real PostgreSQL and broker."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from ring_runtime.identity import ADMIN, PARTY_B
from ring_runtime.settings import Settings
from ring_runtime.testing import eventually
from ring_task.main import create_app

from .conftest import actor, new_task

pytestmark = pytest.mark.integration


async def _mine(client: AsyncTestClient[Litestar], user: UUID) -> dict[str, Any]:
    response = await client.get("/analytics/me", headers=actor(user))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_party_and_platform_figures_follow_the_read_models(
    task_settings: Settings, owner: UUID, verified_provider: Any
) -> None:
    async with AsyncTestClient(create_app(task_settings)) as client:
        published = await client.post(
            "/tasks", json=new_task(slots=3, commission_minor=10_000), headers=actor(owner)
        )
        draft = await client.post("/tasks", json=new_task(), headers=actor(owner))
        assert published.status_code == draft.status_code == 201
        task_id = published.json()["id"]
        publishing = await client.post(f"/tasks/{task_id}/publish", headers=actor(owner))
        assert publishing.status_code == 202, publishing.text
        await asyncio.to_thread(client.app.state.application.mark_funded, task_id)
        b1, b2 = verified_provider(), verified_provider()
        first = await client.post(f"/tasks/{task_id}/orders", headers=actor(b1, PARTY_B))
        second = await client.post(f"/tasks/{task_id}/orders", headers=actor(b2, PARTY_B))
        assert first.status_code == second.status_code == 201
        progress = await client.post(
            f"/orders/{first.json()['id']}/progress",
            json={"percent": 10},
            headers=actor(b1, PARTY_B),
        )
        assert progress.status_code == 200, progress.text

        expected_owner = {
            "tasks_by_status": {"draft": 1, "published": 1},
            "orders_as_owner_by_status": {"accepted": 1, "in_progress": 1},
            "orders_as_provider_by_status": {},
            "commission_as_owner": [
                {"currency": "CNY", "committed_minor": 20_000, "settled_minor": 0}
            ],
        }

        async def owner_figures() -> bool:
            return await _mine(client, owner) == expected_owner

        assert await eventually(owner_figures)
        expected_provider = {
            "tasks_by_status": {},
            "orders_as_owner_by_status": {},
            "orders_as_provider_by_status": {"in_progress": 1},
            "commission_as_owner": [],
        }

        async def provider_figures() -> bool:
            return await _mine(client, b1) == expected_provider

        assert await eventually(provider_figures)
        assert await _mine(client, uuid4()) == {
            "tasks_by_status": {},
            "orders_as_owner_by_status": {},
            "orders_as_provider_by_status": {},
            "commission_as_owner": [],
        }

        expected_platform = {  # this test's schema holds only this test's data
            "tasks_by_status": {"draft": 1, "published": 1},
            "orders_by_status": {"accepted": 1, "in_progress": 1},
            "commission": [{"currency": "CNY", "committed_minor": 20_000, "settled_minor": 0}],
        }

        async def platform_figures() -> bool:
            platform = await client.get("/internal/analytics", headers=actor(uuid4(), ADMIN))
            assert platform.status_code == 200, platform.text
            return bool(platform.json() == expected_platform)

        assert await eventually(platform_figures)
        assert (await client.get("/analytics/me")).status_code == 401  # no X-Ring-Actor


async def test_settled_commission_is_what_the_provider_received(
    task_settings: Settings, owner: UUID, verified_provider: Any
) -> None:
    """After a 60/40 dispute split of a 10 000 commission, ``settled_minor`` counts 6 000."""
    async with AsyncTestClient(create_app(task_settings)) as client:
        tasks = client.app.state.application
        created = await client.post(
            "/tasks", json=new_task(slots=2, commission_minor=10_000), headers=actor(owner)
        )
        task_id = created.json()["id"]
        assert (await client.post(f"/tasks/{task_id}/publish", headers=actor(owner))).is_success
        await asyncio.to_thread(tasks.mark_funded, task_id)
        provider = verified_provider()
        taken = await client.post(f"/tasks/{task_id}/orders", headers=actor(provider, PARTY_B))
        order_id = UUID(taken.json()["id"])
        await asyncio.to_thread(tasks.submit_voucher, order_id, provider)
        await asyncio.to_thread(tasks.record_dispute_opened, order_id)
        await asyncio.to_thread(tasks.record_dispute_outcome, order_id, 60, None, 6_000)

        async def settled_share() -> bool:
            answer = await client.get("/internal/analytics", headers=actor(uuid4(), ADMIN))
            rows = answer.json()["commission"]
            return bool(rows) and rows[0]["settled_minor"] == 6_000

        assert await eventually(settled_share)
