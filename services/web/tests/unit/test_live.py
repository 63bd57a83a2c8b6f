"""The polling change feed: reports each topic once when connected, then only on change, and
ends after its lifetime so the browser reconnects."""

from __future__ import annotations

from typing import Any

import httpx
from ring_web.gateway import Gateway
from ring_web.live import PollingChangeFeed, reads_of, valid_topics

ORDER = "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c"


def test_topics_are_checked_and_bounded() -> None:
    raw = [
        "wallet",
        "wallet",
        f"order:{ORDER}",
        "order:../../admin",
        "bogus",
        "tasks",
        "disputes",
        "orders",
    ]
    assert valid_topics(raw) == ["wallet", f"order:{ORDER}", "tasks", "disputes"]


def test_an_order_is_read_with_its_vouchers_and_messages() -> None:
    assert [path for path, _ in reads_of(f"order:{ORDER}")] == [
        f"/v1/orders/{ORDER}",
        f"/v1/orders/{ORDER}/vouchers",
        f"/v1/orders/{ORDER}/messages",
    ]


async def test_changes_are_reported_once_each() -> None:
    statuses = iter(["funding", "funding", "published", "published", "published"])
    state: dict[str, Any] = {"status": "funding"}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == f"/v1/tasks/{ORDER}":
            state["status"] = next(statuses, "published")
        return httpx.Response(200, json={"status": state["status"], "items": []})

    feed = PollingChangeFeed(interval=0.0, lifetime=0.05)
    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(base_url="http://gw", transport=transport) as client:
        api = Gateway(client, {"access_token": "a"}, may_refresh=False)
        seen = [topic async for topic in feed.changes(api, [f"task:{ORDER}"])]
    assert seen == [f"task:{ORDER}", f"task:{ORDER}"]  # the first reading, then the change
