"""The admins' verification queue: pending providers, longest waiting first, fresh on every read."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import AsyncTestClient

from ring_runtime.identity import ADMIN, PARTY_A, PARTY_B

from .conftest import actor, qualify

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]


async def _queue(matching: Client, admin: UUID, **params: Any) -> dict[str, Any]:
    answer = await matching.get("/admin/providers", params=params, headers=actor(admin, ADMIN))
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


async def _ids(matching: Client, admin: UUID) -> list[str]:
    return [item["id"] for item in (await _queue(matching, admin))["items"]]


async def test_the_queue_lists_pending_providers_until_an_admin_decides(matching: Client) -> None:
    admin = uuid4()
    first, second, third = uuid4(), uuid4(), uuid4()
    for provider in (first, second, third):
        await qualify(matching, provider)

    # Read right after the submissions, without waiting: the queue catches up first.
    page = await _queue(matching, admin)
    assert [item["id"] for item in page["items"]] == [str(first), str(second), str(third)]
    assert page["next_cursor"] is None
    assert page["items"][0]["kind"] == "certificate"
    assert page["items"][0]["reference"] == "CVAT-42"
    assert page["items"][0]["skills"] == ["labeling"]

    # Paged by cursor, two at a time.
    head = await _queue(matching, admin, limit=2)
    assert [item["id"] for item in head["items"]] == [str(first), str(second)]
    tail = await _queue(matching, admin, limit=2, cursor=head["next_cursor"])
    assert [item["id"] for item in tail["items"]] == [str(third)]
    assert tail["next_cursor"] is None

    # Decisions take providers out; a rejected provider who resubmits waits at the end again.
    verified = await matching.post(f"/providers/{first}/verify", headers=actor(admin, ADMIN))
    assert verified.status_code == 200, verified.text
    rejected = await matching.post(
        f"/providers/{second}/reject", json={"reason": "unreadable"}, headers=actor(admin, ADMIN)
    )
    assert rejected.status_code == 200, rejected.text
    assert await _ids(matching, admin) == [str(third)]
    await qualify(matching, second)
    assert await _ids(matching, admin) == [str(third), str(second)]


async def test_only_admins_read_the_queue_and_bad_cursors_are_refused(matching: Client) -> None:
    for role in (PARTY_A, PARTY_B):
        answer = await matching.get("/admin/providers", headers=actor(uuid4(), role))
        assert answer.status_code == 403, (role, answer.text)
    answer = await matching.get(
        "/admin/providers", params={"cursor": "not-a-cursor"}, headers=actor(uuid4(), ADMIN)
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_cursor"
