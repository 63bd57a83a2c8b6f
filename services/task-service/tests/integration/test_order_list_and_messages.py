"""``GET /orders`` (orders by party, fed exactly once from the topic) and order conversations."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from ring_runtime.identity import PARTY_B
from ring_runtime.paging import encode_cursor
from ring_runtime.settings import Settings
from ring_runtime.testing import eventually
from ring_task.main import create_app

from .conftest import actor, new_task

pytestmark = pytest.mark.integration


async def _published_task(client: AsyncTestClient[Litestar], owner: UUID, **fields: Any) -> str:
    created = await client.post("/tasks", json=new_task(**fields), headers=actor(owner))
    assert created.status_code == 201, created.text
    task_id: str = created.json()["id"]
    assert (await client.post(f"/tasks/{task_id}/publish", headers=actor(owner))).status_code == 202
    await asyncio.to_thread(client.app.state.application.mark_funded, task_id)
    return task_id


async def _take(client: AsyncTestClient[Litestar], task_id: str, provider: UUID) -> str:
    taken = await client.post(f"/tasks/{task_id}/orders", headers=actor(provider, PARTY_B))
    assert taken.status_code == 201, taken.text
    order_id: str = taken.json()["id"]
    return order_id


async def _ids(client: AsyncTestClient[Litestar], user: UUID, **params: Any) -> list[str]:
    page = await client.get("/orders", params=params, headers=actor(user))
    assert page.status_code == 200, page.text
    return [o["id"] for o in page.json()["items"]]


async def test_each_party_lists_its_own_orders_with_paging(
    task_settings: Settings, owner: UUID, verified_provider: Any
) -> None:
    async with AsyncTestClient(create_app(task_settings)) as client:
        task_id = await _published_task(client, owner, slots=3)
        b1, b2 = verified_provider(), verified_provider()
        first = await _take(client, task_id, b1)
        second = await _take(client, task_id, b2)
        progress = await client.post(
            f"/orders/{first}/progress",
            json={"percent": 40, "note": "half"},
            headers=actor(b1, PARTY_B),
        )
        assert progress.status_code == 200, progress.text

        async def owner_sees_both() -> bool:
            return set(await _ids(client, owner)) == {first, second}

        assert await eventually(owner_sees_both)
        assert await _ids(client, b1) == [first]
        assert await _ids(client, b2) == [second]
        assert await _ids(client, uuid4()) == []

        async def first_in_progress() -> dict[str, Any] | None:
            page = await client.get("/orders", headers=actor(b1, PARTY_B))
            row: dict[str, Any] = page.json()["items"][0]
            return row if row["status"] == "in_progress" else None

        row = await eventually(first_in_progress)
        assert row is not None
        assert (row["percent"], row["task_id"], row["owner_id"]) == (40, task_id, str(owner))
        assert await _ids(client, owner, status="in_progress") == [first]

        one = (await client.get("/orders", params={"limit": 1}, headers=actor(owner))).json()
        assert one["items"][0]["id"] == second  # newest first
        rest = await client.get(
            "/orders", params={"limit": 1, "cursor": one["next_cursor"]}, headers=actor(owner)
        )
        assert [o["id"] for o in rest.json()["items"]] == [first]
        assert rest.json()["next_cursor"] is None
        bad = await client.get("/orders", params={"cursor": "nonsense"}, headers=actor(owner))
        assert bad.status_code == 400


async def test_parties_converse_and_strangers_cannot(
    task_settings: Settings, owner: UUID, verified_provider: Any
) -> None:
    async with AsyncTestClient(create_app(task_settings)) as client:
        task_id = await _published_task(client, owner, slots=1)
        provider = verified_provider()
        order_id = await _take(client, task_id, provider)

        asked = await client.post(
            f"/orders/{order_id}/messages",
            json={"body": "Boxes or polygons?"},
            headers=actor(owner),
        )
        assert asked.status_code == 201, asked.text
        assert (asked.json()["role"], asked.json()["author_id"]) == ("owner", str(owner))
        answers = await asyncio.gather(
            *(
                client.post(
                    f"/orders/{order_id}/messages",
                    json={"body": f"Boxes {n}"},
                    headers=actor(p, PARTY_B),
                )
                for n, p in enumerate([provider, provider, owner])
            )
        )
        assert [a.status_code for a in answers] == [201, 201, 201], [a.text for a in answers]

        thread = await client.get(f"/orders/{order_id}/messages", headers=actor(provider, PARTY_B))
        assert thread.status_code == 200
        assert thread.json()["next_cursor"] is None
        bodies = [m["body"] for m in thread.json()["items"]]
        assert bodies[0] == "Boxes or polygons?"
        assert sorted(bodies[1:]) == ["Boxes 0", "Boxes 1", "Boxes 2"]
        roles = {m["body"]: m["role"] for m in thread.json()["items"]}
        assert (roles["Boxes 0"], roles["Boxes 2"]) == ("provider", "owner")

        first = await client.get(
            f"/orders/{order_id}/messages", params={"limit": 3}, headers=actor(owner)
        )
        assert [m["body"] for m in first.json()["items"]] == bodies[:3]
        rest = await client.get(
            f"/orders/{order_id}/messages",
            params={"limit": 3, "cursor": first.json()["next_cursor"]},
            headers=actor(owner),
        )
        assert [m["body"] for m in rest.json()["items"]] == bodies[3:]
        assert rest.json()["next_cursor"] is None
        for foreign in (encode_cursor(str(uuid4()), "1"), encode_cursor(str(order_id), "x")):
            refused_cursor = await client.get(
                f"/orders/{order_id}/messages", params={"cursor": foreign}, headers=actor(owner)
            )
            assert refused_cursor.status_code == 400, refused_cursor.text
            assert refused_cursor.json()["error"]["code"] == "invalid_cursor"

        stranger = uuid4()
        refused = await client.post(
            f"/orders/{order_id}/messages", json={"body": "hi"}, headers=actor(stranger)
        )
        assert refused.status_code == 403
        assert (
            await client.get(f"/orders/{order_id}/messages", headers=actor(stranger))
        ).status_code == 403
        missing = await client.post(
            f"/orders/{uuid4()}/messages", json={"body": "hi"}, headers=actor(owner)
        )
        assert missing.status_code == 404
        for body in ({"body": ""}, {"body": "   "}, {"body": "x", "author_id": str(owner)}):
            bad = await client.post(f"/orders/{order_id}/messages", json=body, headers=actor(owner))
            assert bad.status_code == 400, (body, bad.text)
        after = await client.get(f"/orders/{order_id}/messages", headers=actor(owner))
        assert len(after.json()["items"]) == 4
        order = await client.get(f"/orders/{order_id}", headers=actor(owner))
        assert order.json()["status"] == "accepted"  # messages do not move the order
