"""The matching board, records and rankings, fed by the task service over the real broker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import AsyncTestClient

from ring_runtime.identity import ADMIN, PARTY_B
from ring_runtime.testing import actor_headers, eventually
from ring_task.application import Tasks

from .conftest import publish_funded_task

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]


def _in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def _titles(matching: Client, owner: UUID, **params: Any) -> list[str]:
    response = await matching.get("/board", params={"owner_id": str(owner), **params})
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


async def test_board_filters_search_sorting_and_paging(
    services: tuple[Client, Client], tasks: Tasks
) -> None:
    task, matching = services
    owner = uuid4()
    await publish_funded_task(
        task,
        tasks,
        owner,
        title="Label street images",
        description="Boxes around cars",
        commission_minor=10_000,
        required_skills=["Labeling"],
        deadline=_in_days(3),
    )
    await publish_funded_task(
        task,
        tasks,
        owner,
        title="Transcribe interviews",
        description="Chinese audio to text",
        commission_minor=30_000,
        required_skills=["transcription"],
        deadline=_in_days(10),
    )
    await publish_funded_task(
        task,
        tasks,
        owner,
        title="Translate manual",
        description="Street furniture catalogue",
        commission_minor=20_000,
        currency="USD",
        required_skills=["translation"],
        deadline=_in_days(20),
    )
    draft = await task.post(
        "/tasks", json={**_draft(), "title": "Draft label job"}, headers=actor_headers(owner)
    )
    assert draft.status_code == 201

    await eventually(lambda: _has(matching, owner, 3))
    assert await _titles(matching, owner, sort="commission") == [
        "Transcribe interviews",
        "Translate manual",
        "Label street images",
    ]
    assert await _titles(matching, owner, skill="labeling") == ["Label street images"]
    assert await _titles(matching, owner, min_commission=15_000, currency="CNY") == [
        "Transcribe interviews"
    ]
    assert await _titles(
        matching, owner, deadline_after=_in_days(5), deadline_before=_in_days(15)
    ) == ["Transcribe interviews"]
    assert sorted(await _titles(matching, owner, q="street")) == [
        "Label street images",
        "Translate manual",
    ]
    assert await _titles(matching, owner, q="audio interviews") == ["Transcribe interviews"]
    assert await _titles(matching, owner, status="draft") == ["Draft label job"]

    pages: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"owner_id": str(owner), "sort": "deadline", "limit": 2}
        response = await matching.get(
            "/board", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        body = response.json()
        pages.extend(item["title"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == ["Label street images", "Transcribe interviews", "Translate manual"]
    bad = await matching.get("/board", params={"sort": "commission", "cursor": "bm9wZQ"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_cursor"


async def test_record_candidates_and_recommendations(
    services: tuple[Client, Client], tasks: Tasks
) -> None:
    task, matching = services
    owner, admin, worker, idle = uuid4(), uuid4(), uuid4(), uuid4()
    for provider in (worker, idle):
        qualified = await matching.post(
            f"/providers/{provider}/qualifications",
            json={"kind": "certificate", "reference": "ref", "skills": ["labeling"]},
            headers=actor_headers(provider, PARTY_B),
        )
        assert qualified.status_code == 201, qualified.text
        await matching.post(f"/providers/{provider}/verify", headers=actor_headers(admin, ADMIN))
    first = await publish_funded_task(task, tasks, owner, title="Label first batch")

    async def take() -> str | None:
        response = await task.post(f"/tasks/{first}/orders", headers=actor_headers(worker, PARTY_B))
        return str(response.json()["id"]) if response.status_code == 201 else None

    order_id = await eventually(take)
    submitted = await task.post(
        f"/orders/{order_id}/submission", json={}, headers=actor_headers(worker, PARTY_B)
    )
    assert submitted.status_code == 200, submitted.text
    approved = await task.post(f"/orders/{order_id}/approval", headers=actor_headers(owner))
    assert approved.status_code == 200, approved.text
    await asyncio.to_thread(tasks.mark_order_settled, UUID(order_id))

    async def record() -> dict[str, Any] | None:
        response = await matching.get(
            f"/providers/{worker}", headers=actor_headers(worker, PARTY_B)
        )
        found: dict[str, Any] = response.json()["record"]
        # the task's own events (another key) may reach the read model after the order's
        converged = found["earnings"] and found["on_time_rate"] is not None
        return found if converged else None

    found = await eventually(record)
    assert found["orders_taken"] == 1
    assert found["orders_completed"] == 1
    assert found["approval_rate"] == 1.0
    assert found["on_time_rate"] == 1.0
    assert found["disputes_lost"] == 0
    assert found["earnings"] == [{"currency": "CNY", "amount_minor": 10_000}]
    # Party A sees the public profile: counts and rates, not earnings or the qualification.
    public = (await matching.get(f"/providers/{worker}", headers=actor_headers(owner))).json()
    assert public["record"]["orders_completed"] == 1
    assert "earnings" not in public["record"]
    assert "qualification" not in public

    second = await publish_funded_task(task, tasks, owner, title="Label second batch")

    async def candidates() -> list[str] | None:
        response = await matching.get(f"/tasks/{second}/candidates", headers=actor_headers(owner))
        ids = [c["provider_id"] for c in response.json()] if response.status_code == 200 else []
        return ids if len(ids) == 2 else None

    assert await eventually(candidates) == [str(worker), str(idle)]  # the record wins
    other = await matching.get(
        f"/tasks/{second}/candidates", headers=actor_headers(worker, PARTY_B)
    )
    assert other.status_code == 403

    async def recommended() -> list[str] | None:
        response = await matching.get(
            f"/providers/{worker}/recommendations", headers=actor_headers(worker, PARTY_B)
        )
        ids = [r["task"]["id"] for r in response.json()]
        return ids if second in ids else None

    ids = await eventually(recommended)
    assert first not in ids  # the worker already holds a slot there


async def _has(matching: Client, owner: UUID, count: int) -> bool:
    return len(await _titles(matching, owner)) == count


def _draft() -> dict[str, Any]:
    return {
        "title": "Draft",
        "deadline": _in_days(7),
        "commission_minor": 1_000,
        "currency": "CNY",
        "slots": 1,
    }
