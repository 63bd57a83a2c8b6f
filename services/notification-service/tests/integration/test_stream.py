"""The live event stream on a real socket: order, no gaps, resuming with ``Last-Event-ID``."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import httpx
import pytest

from ring_runtime.settings import Settings

from .conftest import Upstream, actor, fast_config, publish, running
from .lifecycle import OWNER_TYPES, Lifecycle

pytestmark = pytest.mark.integration


async def read_events(
    client: httpx.AsyncClient, headers: dict[str, str], count: int
) -> list[dict[str, Any]]:
    """The first ``count`` events of a stream, each checked: its ``id:`` is its sequence."""
    events: list[dict[str, Any]] = []
    async with client.stream("GET", "/events/stream", headers=headers, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line == "" and "id" in fields:
                event = json.loads(fields["data"])
                assert (str(event["sequence"]), event["type"]) == (fields["id"], fields["event"])
                events.append(event)
                if len(events) == count:
                    return events
                fields = {}
            elif line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
    return events


async def test_a_connected_client_sees_every_change_in_order_and_resumes_without_gaps(
    notification_settings: Settings,
) -> None:
    owner, provider = uuid4(), uuid4()
    async with running(notification_settings, fast_config()) as client:
        await publish(
            notification_settings.kafka_bootstrap, Lifecycle(owner, provider).envelopes(Upstream())
        )
        events = await read_events(client, actor(owner), len(OWNER_TYPES))
        assert [e["sequence"] for e in events] == list(range(1, len(OWNER_TYPES) + 1))
        orders = [e["type"] for e in events if e["type"].startswith("order.")]
        assert orders == [t for t in OWNER_TYPES if t.startswith("order.")]
        assert all(e["party_id"] == str(owner) for e in events)

        resumed = await read_events(client, {**actor(owner), "Last-Event-ID": "4"}, 3)
        assert resumed == events[4:7]
        from_start = await read_events(client, actor(owner), 1)
        assert from_start == events[:1]
        refused = await client.get(
            "/events/stream", headers={**actor(owner), "Last-Event-ID": "four"}
        )
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "invalid_last_event_id"
