"""``GET /v1/analytics/me`` and ``GET /v1/admin/analytics``: role checks, which source each
figure comes from, and a source that is down (its own fake upstreams, by service)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import pytest
from litestar import Litestar, Request, Response, get
from litestar.params import FromPath

from ring_gateway.application import Users
from ring_gateway.config import GatewayConfig
from ring_gateway.idempotency import MemoryIdempotencyStore
from ring_gateway.main import build_app
from ring_gateway.sessions import MemoryRefreshSessions
from ring_runtime.identity import ASSERTION_HEADER
from ring_runtime.settings import load_settings

from .conftest import CHEAP_HASHER, DEV_VERIFIER, admin_headers, register

COUNTS = {
    "tasks_by_status": {"published": 2},
    "orders_as_owner_by_status": {"accepted": 1},
    "orders_as_provider_by_status": {"settled": 3},
    "commission_as_owner": [{"currency": "CNY", "committed_minor": 10, "settled_minor": 0}],
}
PLATFORM = {
    "tasks_by_status": {"published": 5},
    "orders_by_status": {"settled": 7},
    "commission": [{"currency": "CNY", "committed_minor": 0, "settled_minor": 70}],
}
TOTALS = {"currencies": [{"currency": "CNY", "fee_revenue_minor": 35, "escrow_held_minor": 0}]}
RECORD = {"orders_taken": 3, "approval_rate": 1.0}


def _actor_of(request: Request[Any, Any, Any]) -> str | None:
    """The user id the gateway's signed assertion names, if any."""
    assertion = request.headers.get(ASSERTION_HEADER)
    return str(DEV_VERIFIER.verify(assertion).user_id) if assertion else None


@dataclass
class Sources:
    """Which fake service was asked what, and which ones are down or failing."""

    calls: list[tuple[str, str, str | None]] = field(default_factory=list)
    down: set[str] = field(default_factory=set)
    failing: set[str] = field(default_factory=set)
    unknown_providers: bool = False


def sources_app(sources: Sources, names: dict[int, str]) -> Litestar:
    """The analytics endpoints of the task, matching and ledger services."""

    def asked(request: Request[Any, Any, Any]) -> Response[Any] | None:
        service = names[request.url.port or 80]
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        sources.calls.append((service, path, _actor_of(request)))
        if service in sources.failing:
            return Response({"error": {"code": "boom"}}, status_code=500)
        return None

    @get("/analytics/me")
    async def counts(request: Request[Any, Any, Any]) -> Response[Any]:
        return asked(request) or Response(COUNTS)

    @get("/internal/analytics")
    async def platform(request: Request[Any, Any, Any]) -> Response[Any]:
        return asked(request) or Response(PLATFORM)

    @get("/internal/totals")
    async def totals(request: Request[Any, Any, Any]) -> Response[Any]:
        return asked(request) or Response(TOTALS)

    @get("/wallets/{party_id:uuid}")
    async def wallet(request: Request[Any, Any, Any], party_id: FromPath[UUID]) -> Response[Any]:
        currency = request.query_params["currency"]
        if currency == "XXX":
            error = {"code": "invalid_currency", "message": "no", "details": None}
            return Response({"error": error}, status_code=422)
        body = {"currency": currency, "available_minor": 5, "reserved_minor": 2}
        return asked(request) or Response(body)

    @get("/providers/{provider_id:uuid}")
    async def provider(
        request: Request[Any, Any, Any], provider_id: FromPath[UUID]
    ) -> Response[Any]:
        if sources.unknown_providers:
            error = {"code": "provider_not_found", "message": "no", "details": None}
            return asked(request) or Response({"error": error}, status_code=404)
        body = {"id": str(provider_id), "verification": "verified", "record": RECORD}
        return asked(request) or Response(body)

    return Litestar(route_handlers=[counts, platform, totals, wallet, provider])


class SourcesTransport(httpx.AsyncBaseTransport):
    """Each upstream answered by the fake app, or refused while its service is ``down``."""

    def __init__(self, sources: Sources, upstreams: dict[str, str]) -> None:
        self.sources = sources
        self.names = {urlsplit(url).port or 80: name for name, url in upstreams.items()}
        self.inner = httpx.ASGITransport(app=sources_app(sources, self.names))  # type: ignore[arg-type]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.names[request.url.port or 80] in self.sources.down:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def sources() -> Sources:
    return Sources()


@pytest.fixture
def app(config: GatewayConfig, sources: Sources, users: Users) -> Litestar:
    return build_app(
        load_settings("gateway", environ={}),
        config,
        transport=SourcesTransport(sources, dict(config.upstreams)),
        idempotency=MemoryIdempotencyStore(),
        sessions=MemoryRefreshSessions(),
        hasher=CHEAP_HASHER,
        users=users,
    )


async def test_party_a_gets_its_tasks_orders_commission_and_wallet(
    client: httpx.AsyncClient, sources: Sources
) -> None:
    a_id, headers = await register(client, "party_a")
    answer = await client.get("/v1/analytics/me", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "role": "party_a",
        "currency": "CNY",
        "wallet": {"currency": "CNY", "available_minor": 5, "reserved_minor": 2},
        "tasks_by_status": {"published": 2},
        "orders_by_status": {"accepted": 1},
        "commission": [{"currency": "CNY", "committed_minor": 10, "settled_minor": 0}],
    }
    assert sorted(sources.calls) == [
        ("ledger", f"/wallets/{a_id}?currency=CNY", str(a_id)),
        ("task", "/analytics/me", str(a_id)),
    ]


async def test_party_b_gets_its_record_orders_and_wallet_in_the_asked_currency(
    client: httpx.AsyncClient, sources: Sources
) -> None:
    b_id, headers = await register(client, "party_b")
    answer = await client.get("/v1/analytics/me", params={"currency": "USD"}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "role": "party_b",
        "currency": "USD",
        "wallet": {"currency": "USD", "available_minor": 5, "reserved_minor": 2},
        "orders_by_status": {"settled": 3},
        "record": RECORD,
    }
    assert sorted(sources.calls) == [
        ("ledger", f"/wallets/{b_id}?currency=USD", str(b_id)),
        ("matching", f"/providers/{b_id}", str(b_id)),
        ("task", "/analytics/me", str(b_id)),
    ]
    sources.unknown_providers = True
    unknown = await client.get("/v1/analytics/me", headers=headers)
    assert unknown.status_code == 200, unknown.text
    assert unknown.json()["record"] is None


async def test_only_admins_read_platform_figures(
    client: httpx.AsyncClient, sources: Sources, users: Users, config: GatewayConfig
) -> None:
    for role in ("party_a", "party_b"):
        _, headers = await register(client, role)
        refused = await client.get("/v1/admin/analytics", headers=headers)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"
    admin_id, admin = admin_headers(users, config)
    assert (await client.get("/v1/analytics/me", headers=admin)).status_code == 403
    assert sources.calls == []
    assert (await client.get("/v1/admin/analytics")).status_code == 401

    answer = await client.get("/v1/admin/analytics", headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "tasks_by_status": {"published": 5},
        "orders_by_status": {"settled": 7},
        "commission": [{"currency": "CNY", "committed_minor": 0, "settled_minor": 70}],
        "money": TOTALS["currencies"],
    }
    assert sorted(sources.calls) == [
        ("ledger", "/internal/totals", str(admin_id)),
        ("task", "/internal/analytics", str(admin_id)),
    ]


@pytest.mark.parametrize("service", ["task", "ledger", "matching"])
async def test_a_source_down_or_failing_is_503_and_its_refusal_is_relayed(
    client: httpx.AsyncClient, sources: Sources, users: Users, config: GatewayConfig, service: str
) -> None:
    _, headers = await register(client, "party_b")
    _, admin = admin_headers(users, config)
    paths = [("/v1/analytics/me", headers)]
    if service != "matching":
        paths.append(("/v1/admin/analytics", admin))
    for trouble in (sources.down, sources.failing):
        trouble.add(service)
        for path, who in paths:
            answer = await client.get(path, headers=who)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.json()["error"]["code"] == "upstream_unavailable"
        trouble.clear()
    refused = await client.get("/v1/analytics/me", params={"currency": "XXX"}, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_currency"
    malformed = await client.get("/v1/analytics/me", params={"currency": "cny"}, headers=headers)
    assert malformed.status_code == 400
