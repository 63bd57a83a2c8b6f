"""Verification, suspension and blocks recorded by matching gate ``take_order`` in the task service.

Both services run in-process on their own schemas and one broker; the task service learns a
provider's standing only from ``ring.matching.events``.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import AsyncTestClient

from ring_runtime.identity import ADMIN, PARTY_B
from ring_runtime.projection import ProjectionStore
from ring_runtime.settings import Settings
from ring_runtime.testing import actor_headers, eventually
from ring_task.application import Tasks
from ring_task.domain.providers import ProviderStanding
from ring_task.providers import ProviderStandingProjection

from .conftest import publish_funded_task, qualify

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]


async def _take(task: Client, task_id: str, provider: UUID) -> tuple[int, str]:
    response = await task.post(f"/tasks/{task_id}/orders", headers=actor_headers(provider, PARTY_B))
    code = response.json()["error"]["code"] if response.status_code >= 400 else ""
    return response.status_code, code


async def test_verification_suspension_and_blocks_gate_orders(
    services: tuple[Client, Client], tasks: Tasks, task_settings: Settings
) -> None:
    task, matching = services
    owner, admin = uuid4(), uuid4()
    verified_later, blocked, suspended = uuid4(), uuid4(), uuid4()
    task_id = await publish_funded_task(task, tasks, owner)
    store = ProjectionStore(task_settings.database_url, task_settings.db_schema, "providers")
    store.open()
    standings = ProviderStandingProjection(store)

    async def standing(provider: UUID) -> ProviderStanding:
        return await asyncio.to_thread(standings.standing, provider, owner)

    try:
        # Not verified: refused; verified: accepted once the task service has heard of it.
        await qualify(matching, verified_later)
        assert await _take(task, task_id, verified_later) == (403, "provider_not_verified")
        verify = await matching.post(
            f"/providers/{verified_later}/verify", headers=actor_headers(admin, ADMIN)
        )
        assert verify.status_code == 200, verify.text
        assert verify.json()["may_take_orders"] is True
        accepted = await eventually(
            lambda: _first_success(task, task_id, verified_later), within=20
        )
        assert accepted == 201

        # Blocked by the owner: refused until unblocked.
        await qualify(matching, blocked)
        await matching.post(f"/providers/{blocked}/verify", headers=actor_headers(admin, ADMIN))
        block = await matching.post(
            f"/owners/{owner}/blocks/{blocked}", headers=actor_headers(owner)
        )
        assert block.status_code == 200, block.text
        assert block.json()["blocked"] == [str(blocked)]

        async def blocked_and_verified() -> bool:
            found = await standing(blocked)
            return bool(found.verification == "verified" and found.blocked_by_owner)

        await eventually(blocked_and_verified)
        assert await _take(task, task_id, blocked) == (403, "provider_blocked")
        unblock = await matching.delete(
            f"/owners/{owner}/blocks/{blocked}", headers=actor_headers(owner)
        )
        assert unblock.status_code == 204, unblock.text
        assert await eventually(lambda: _first_success(task, task_id, blocked)) == 201

        # Suspended (before verification, same provider stream, so order is kept): refused.
        await qualify(matching, suspended)
        await matching.post(f"/providers/{suspended}/suspend", headers=actor_headers(admin, ADMIN))
        await matching.post(f"/providers/{suspended}/verify", headers=actor_headers(admin, ADMIN))

        async def verified_and_suspended() -> bool:
            found = await standing(suspended)
            return bool(found.verification == "verified" and found.suspended)

        await eventually(verified_and_suspended)
        assert await _take(task, task_id, suspended) == (403, "provider_suspended")
        await matching.post(
            f"/providers/{suspended}/reinstate", headers=actor_headers(admin, ADMIN)
        )
        assert await eventually(lambda: _first_success(task, task_id, suspended)) == 201
    finally:
        await asyncio.to_thread(store.close)


async def _first_success(task: Client, task_id: str, provider: UUID) -> int | None:
    status, _ = await _take(task, task_id, provider)
    return status if status == 201 else None
