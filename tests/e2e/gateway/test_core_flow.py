"""Through the gateway only: register → deposit → create → publish → the task is funded."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from ring_gateway.domain import Role
from ring_gateway.tokens import Principal
from ring_runtime.testing import eventually

pytestmark = pytest.mark.integration

TASK = {
    "title": "Label 500 images",
    "description": "Bounding boxes around cats",
    "deadline": "2031-01-01T00:00:00Z",
    "commission_minor": 1000,
    "currency": "CNY",
    "slots": 2,
    "required_skills": ["labeling"],
}


async def _login(gateway: Any, role: str, email: str) -> dict[str, str]:
    registered = await gateway.post(
        "/v1/auth/register",
        json={
            "email": email,
            "password": "correct horse battery",
            "role": role,
            "display_name": "A",
        },
    )
    assert registered.status_code == 201, registered.text
    login = await gateway.post(
        "/v1/auth/login", json={"email": email, "password": "correct horse battery"}
    )
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_party_a_funds_and_publishes_a_task(platform: AsyncTestClient[Litestar]) -> None:
    gateway = platform
    a = await _login(gateway, "party_a", "alice@example.com")
    deposit = {"amount_minor": 100_000, "currency": "CNY"}
    key = {**a, "Idempotency-Key": "first-deposit"}
    first = await gateway.post("/v1/wallet/deposits", json=deposit, headers=key)
    assert first.status_code == 201, first.text
    replay = await gateway.post("/v1/wallet/deposits", json=deposit, headers=key)
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    mismatch = await gateway.post(
        "/v1/wallet/deposits", json={**deposit, "amount_minor": 1}, headers=key
    )
    assert mismatch.status_code == 422
    wallet = await gateway.get("/v1/wallet", params={"currency": "CNY"}, headers=a)
    assert wallet.json()["available_minor"] == 100_000  # deposited once

    created = await gateway.post("/v1/tasks", json=TASK, headers={**a, "Idempotency-Key": "t1"})
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    task_id = created.json()["id"]
    published = await gateway.post(f"/v1/tasks/{task_id}/publish", headers=a)
    assert published.status_code == 202, published.text
    assert published.json()["status"] in ("funding", "published")

    async def published_task() -> dict[str, Any] | None:
        found: dict[str, Any] = (await gateway.get(f"/v1/tasks/{task_id}", headers=a)).json()
        return found if found["status"] == "published" else None

    task = await eventually(published_task)
    assert task["status"] == "published", task
    assert task["slots_left"] == 2
    assert task["reserved_minor"] == 2 * (1000 + task["fee_minor"])
    wallet = (await gateway.get("/v1/wallet", params={"currency": "CNY"}, headers=a)).json()
    assert wallet["available_minor"] == 100_000 - task["reserved_minor"]


async def test_another_party_cannot_touch_the_task(platform: AsyncTestClient[Litestar]) -> None:
    gateway = platform
    a = await _login(gateway, "party_a", "owner@example.com")
    intruder = await _login(gateway, "party_a", "intruder@example.com")
    b = await _login(gateway, "party_b", "provider@example.com")
    task_id = (await gateway.post("/v1/tasks", json=TASK, headers=a)).json()["id"]
    refused = await gateway.post(f"/v1/tasks/{task_id}/publish", headers=intruder)
    assert refused.status_code in (403, 404)
    assert refused.json()["error"]["code"]
    assert (await gateway.post(f"/v1/tasks/{task_id}/cancel", headers=b)).status_code == 403
    me = await gateway.get("/v1/me", headers=b)
    assert me.json()["verification"] == "unknown"  # matching is not running in this test
    ready = await gateway.get("/ready")
    assert (ready.status_code, ready.json()) == (503, {"status": "unavailable"})  # no topology
    gw = gateway.app.state.gateway
    admin_id = gw.users.register("ops@example.com", "admin password!", Role.ADMIN, "Ops")
    admin = gw.tokens.issue(Principal(user_id=admin_id, role=Role.ADMIN)).access_token
    ready = await gateway.get("/ready", headers={"Authorization": f"Bearer {admin}"})
    assert ready.status_code == 503
    assert ready.json()["store"] == "ok"
    assert ready.json()["task"] == "ok"
    assert ready.json()["matching"] == "unreachable"
