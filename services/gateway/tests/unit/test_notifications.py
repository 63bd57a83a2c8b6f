"""Webhooks and the event stream at the gateway: roles, forwarding as the caller, SSE relay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, Response, delete, get, patch, post
from litestar.response import Stream

from ring_gateway.application import Users
from ring_gateway.config import GatewayConfig
from ring_gateway.idempotency import MemoryIdempotencyStore
from ring_gateway.main import build_app
from ring_gateway.sessions import MemoryRefreshSessions
from ring_runtime.identity import ASSERTION_HEADER
from ring_runtime.settings import load_settings

from .conftest import CHEAP_HASHER, DEV_VERIFIER, admin_headers, register

W = "33333333-3333-3333-3333-333333333333"


@dataclass
class Seen:
    """What the fake notification service was asked: method, path, actor, headers."""

    calls: list[tuple[str, str, str | None, dict[str, str]]] = field(default_factory=list)


def fake_notification_service(seen: Seen) -> Litestar:
    def record(request: Request[Any, Any, Any]) -> str | None:
        assertion = request.headers.get(ASSERTION_HEADER)
        actor = str(DEV_VERIFIER.verify(assertion).user_id) if assertion else None
        seen.calls.append((request.method, request.url.path, actor, dict(request.headers)))
        return actor

    @post("/webhooks", status_code=201)
    async def create(request: Request[Any, Any, Any]) -> dict[str, Any]:
        record(request)
        return {"id": W, "secret": "whsec_x", **(await request.json())}

    @get("/webhooks/{webhook_id:uuid}")
    async def read(request: Request[Any, Any, Any]) -> dict[str, Any]:
        record(request)
        return {"id": W}

    @patch("/webhooks/{webhook_id:uuid}")
    async def change(request: Request[Any, Any, Any]) -> dict[str, Any]:
        record(request)
        return {"id": W, **(await request.json())}

    @delete("/webhooks/{webhook_id:uuid}", status_code=200)
    async def remove(request: Request[Any, Any, Any]) -> dict[str, Any]:
        record(request)
        return {"id": W, "deleted": True}

    @post("/webhooks/{webhook_id:uuid}/secret/rotate", status_code=200)
    async def rotate(request: Request[Any, Any, Any]) -> dict[str, Any]:
        record(request)
        body: dict[str, Any] = await request.json()
        return body

    @get("/events/stream")
    async def stream(request: Request[Any, Any, Any]) -> Response[Any]:
        record(request)
        last = request.headers.get("last-event-id", "0")
        if not last.isdigit():
            return Response(
                {"error": {"code": "invalid_last_event_id", "message": "x", "details": None}},
                status_code=400,
            )

        async def events() -> AsyncIterator[bytes]:
            for number in range(int(last) + 1, int(last) + 3):
                yield f"id: {number}\nevent: order.settled\ndata: {{}}\n\n".encode()

        return Stream(events(), media_type="text/event-stream")

    return Litestar(route_handlers=[create, read, change, remove, rotate, stream])


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
async def gateway(
    config: GatewayConfig, users: Users, seen: Seen
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=fake_notification_service(seen))  # type: ignore[arg-type]
    app = build_app(
        load_settings("gateway", environ={}),
        config,
        transport=transport,
        idempotency=MemoryIdempotencyStore(),
        sessions=MemoryRefreshSessions(),
        hasher=CHEAP_HASHER,
        users=users,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        base_url="http://gateway.test",
    ) as client:
        yield client


async def test_parties_manage_their_webhooks_as_themselves(
    gateway: httpx.AsyncClient, seen: Seen
) -> None:
    user_id, headers = await register(gateway, "party_b")
    created = await gateway.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/x", "event_types": ["order.settled"]},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["secret"] == "whsec_x"
    for method, path, body in [
        ("GET", f"/v1/webhooks/{W}", None),
        ("PATCH", f"/v1/webhooks/{W}", {"enabled": True}),
        ("DELETE", f"/v1/webhooks/{W}", None),
    ]:
        answer = await gateway.request(method, path, json=body, headers=headers)
        assert answer.status_code == 200, answer.text
    assert [(m, p, a) for m, p, a, _ in seen.calls] == [
        ("POST", "/webhooks", str(user_id)),
        ("GET", f"/webhooks/{W}", str(user_id)),
        ("PATCH", f"/webhooks/{W}", str(user_id)),
        ("DELETE", f"/webhooks/{W}", str(user_id)),
    ]


async def test_unknown_fields_are_refused_before_the_service_is_asked(
    gateway: httpx.AsyncClient, seen: Seen
) -> None:
    _, headers = await register(gateway, "party_a")
    answer = await gateway.post(
        "/v1/webhooks", json={"url": "https://h.example.com/x", "secret": "mine"}, headers=headers
    )
    assert answer.status_code == 400
    assert seen.calls == []


async def test_admins_have_no_webhooks_or_stream(
    gateway: httpx.AsyncClient, users: Users, config: GatewayConfig, seen: Seen
) -> None:
    _, admin = admin_headers(users, config)
    assert (await gateway.get("/v1/webhooks", headers=admin)).status_code == 403
    assert (await gateway.get("/v1/events/stream", headers=admin)).status_code == 403
    assert (await gateway.get("/v1/events/stream")).status_code == 401
    assert seen.calls == []


async def test_the_stream_is_relayed_resuming_after_last_event_id(
    gateway: httpx.AsyncClient, seen: Seen
) -> None:
    user_id, headers = await register(gateway, "party_a")
    answer = await gateway.get("/v1/events/stream", headers={**headers, "Last-Event-ID": "41"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert [line for line in answer.text.splitlines() if line.startswith("id:")] == [
        "id: 42",
        "id: 43",
    ]
    (_, path, actor, sent) = seen.calls[-1]
    assert (path, actor, sent["last-event-id"]) == ("/events/stream", str(user_id), "41")
    refused = await gateway.get("/v1/events/stream", headers={**headers, "Last-Event-ID": "x"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_last_event_id"


async def test_rotating_a_secret_needs_no_body(gateway: httpx.AsyncClient, seen: Seen) -> None:
    _, headers = await register(gateway, "party_a")
    answer = await gateway.post(f"/v1/webhooks/{W}/secret/rotate", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"overlap_seconds": 86400}
