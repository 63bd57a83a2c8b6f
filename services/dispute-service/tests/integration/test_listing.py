"""Listing disputes: the admin queue and a party's own disputes, page by page."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import AsyncTestClient

from ring_dispute.config import DisputeConfig
from ring_dispute.main import create_app
from ring_runtime.blobs import FileSystemBlobStore
from ring_runtime.identity import ADMIN, PARTY_B
from ring_runtime.settings import Settings
from ring_runtime.timers import ManualClock

from .conftest import actor, seed_order

pytestmark = pytest.mark.integration


async def _pages(client: AsyncTestClient, path: str, **params: object) -> list[list[str]]:  # type: ignore[type-arg]
    """Every page of a listing, following ``next_cursor``; the ids of each page."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        query: dict[str, Any] = {**params, **({"cursor": cursor} if cursor else {})}
        answer = await client.get(path, params=query)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append([entry["id"] for entry in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


async def test_queue_and_party_listing_page_by_cursor(
    dispute_settings: Settings,
    config: DisputeConfig,
    clock: ManualClock,
    blobs: FileSystemBlobStore,
) -> None:
    owner, other_owner, provider = uuid4(), uuid4(), uuid4()
    app = create_app(dispute_settings, config=config, clock=clock, blobs=blobs)
    async with AsyncTestClient(app) as client:
        opened: list[str] = []
        for who in (owner, owner, other_owner, owner, other_owner):
            order_id = seed_order(dispute_settings, who, provider, status="rejected")
            created = await client.post(
                f"/orders/{order_id}/disputes",
                json={"category": "quality", "reason": "The photos show the wrong shop."},
                headers=actor(who),
            )
            assert created.status_code == 201, created.text
            opened.append(created.json()["id"])

        # Every dispute was opened at the same instant of the manual clock: the id breaks ties.
        in_queue_order = sorted(opened, key=UUID)
        client.headers.update(actor(uuid4(), ADMIN))
        pages = await _pages(client, "/admin/disputes", limit=2)
        assert pages == [in_queue_order[0:2], in_queue_order[2:4], in_queue_order[4:5]]

        client.headers.update(actor(owner))
        mine = await _pages(client, "/disputes", limit=2)
        owners_disputes = [d for d in in_queue_order if d in {opened[0], opened[1], opened[3]}]
        assert [d for page in mine for d in page] == owners_disputes
        assert [len(page) for page in mine] == [2, 1]
        client.headers.update(actor(provider, PARTY_B))
        assert await _pages(client, "/disputes", limit=100) == [in_queue_order]
        client.headers.update(actor(uuid4()))
        assert await _pages(client, "/disputes") == [[]]

        for bad in ("not-a-cursor", "Zm9vfGJhcg"):  # the second is "foo|bar" in base64
            refused = await client.get(
                "/admin/disputes", params={"cursor": bad}, headers=actor(uuid4(), ADMIN)
            )
            assert refused.status_code == 400, refused.text
            assert refused.json()["error"]["code"] == "invalid_cursor"
        too_many = await client.get(
            "/admin/disputes", params={"limit": 101}, headers=actor(uuid4(), ADMIN)
        )
        assert too_many.status_code == 400
