"""Unit-tier fixtures: the gateway on an in-memory store, upstreams faked by one litestar app."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from argon2 import PasswordHasher
from litestar import Litestar, Request, Response, get, post
from litestar.params import FromPath

from ring_gateway.application import Users
from ring_gateway.config import GatewayConfig, gateway_config
from ring_gateway.domain import Role
from ring_gateway.flags import MemoryFlagStore
from ring_gateway.idempotency import MemoryIdempotencyStore
from ring_gateway.main import build_app
from ring_gateway.sessions import MemoryRefreshSessions
from ring_runtime.identity import ASSERTION_HEADER, AssertionVerifier, development_identity_keys
from ring_runtime.settings import load_settings

#: Verifies the assertions the gateway signs with the development pair of RING_DATA_DIR.
DEV_VERIFIER = AssertionVerifier(development_identity_keys(".ring")[1])
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
TEST_ENV = {
    "RING_JWT_SECRET": "unit-test-secret-0123456789abcdef0123456789",
    "RING_PII_KEY": base64.b64encode(b"k" * 32).decode(),
    "RING_AUTH_RATE_LIMIT_PER_MINUTE": "1000",
}


@dataclass
class FakeServices:
    """What the fake internal services were asked, and knobs to slow them down."""

    calls: list[tuple[str, str, str | None, bytes]] = field(default_factory=list)
    gate: asyncio.Event | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    down: bool = False
    audit_down: set[int] = field(default_factory=set)
    #: Owner of every task the fake task service shows (a user id the gateway may not know).
    task_owner: UUID = field(default_factory=uuid4)

    def paths(self) -> list[str]:
        return [f"{method} {path}" for method, path, _, _ in self.calls]


def fake_app(fakes: FakeServices) -> Litestar:
    """One app answering the internal APIs of task, matching, voucher and ledger."""

    async def record(request: Request[Any, Any, Any]) -> str | None:
        assertion = request.headers.get(ASSERTION_HEADER)
        actor = str(DEV_VERIFIER.verify(assertion).user_id) if assertion else None
        fakes.calls.append((request.method, request.url.path, actor, await request.body()))
        fakes.started.set()
        if fakes.gate is not None:
            await fakes.gate.wait()
        return actor

    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @post("/tasks", status_code=201)
    async def create_task(request: Request[Any, Any, Any]) -> dict[str, Any]:
        await record(request)
        return {"id": str(uuid4()), "status": "draft"}

    @post("/tasks/{task_id:uuid}/publish", status_code=202)
    async def publish(request: Request[Any, Any, Any], task_id: FromPath[UUID]) -> Response[Any]:
        await record(request)
        if task_id.int == 0:
            error = {"code": "not_task_owner", "message": "not yours", "details": None}
            return Response({"error": error}, status_code=403)
        return Response({"id": str(task_id), "status": "funding"}, status_code=202)

    @get("/tasks/{task_id:uuid}")
    async def get_task(request: Request[Any, Any, Any], task_id: FromPath[UUID]) -> dict[str, Any]:
        await record(request)
        return {"id": str(task_id), "status": "published", "owner_id": str(fakes.task_owner)}

    @get("/tasks")
    async def list_tasks(request: Request[Any, Any, Any]) -> dict[str, Any]:
        await record(request)
        return {"items": [], "next_cursor": None, "query": dict(request.query_params)}

    @post("/tasks/{task_id:uuid}/orders", status_code=201)
    async def take(request: Request[Any, Any, Any], task_id: FromPath[UUID]) -> dict[str, Any]:
        await record(request)
        return {"id": str(uuid4()), "status": "accepted"}

    @get("/internal/rejection-outliers")
    async def rejection_outliers(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
        await record(request)
        return [{"owner_id": str(fakes.task_owner), "reviews": 12, "rejections": 11}]

    @post("/deposits", status_code=201)
    async def deposit(request: Request[Any, Any, Any]) -> dict[str, Any]:
        await record(request)
        return {
            "id": str(uuid4()),
            "status": "confirmed",
            "key": request.headers.get("idempotency-key"),
        }

    @post("/withdrawals", status_code=201)
    async def withdraw(request: Request[Any, Any, Any]) -> dict[str, Any]:
        await record(request)
        return {"id": str(uuid4()), "status": "requested"}

    @get("/wallets/{party_id:uuid}")
    async def wallet(request: Request[Any, Any, Any], party_id: FromPath[UUID]) -> dict[str, Any]:
        await record(request)
        return {"party": str(party_id), "currency": request.query_params.get("currency")}

    @get("/providers/{provider_id:uuid}")
    async def provider(
        request: Request[Any, Any, Any], provider_id: FromPath[UUID]
    ) -> Response[Any]:
        await record(request)
        return Response({"id": str(provider_id), "verification": "pending"})

    @post("/providers/{provider_id:uuid}/verify")
    async def verify(
        request: Request[Any, Any, Any], provider_id: FromPath[UUID]
    ) -> dict[str, Any]:
        await record(request)
        return {"id": str(provider_id), "verification": "verified"}

    @post("/providers/{provider_id:uuid}/qualifications", status_code=201)
    async def qualify(
        request: Request[Any, Any, Any], provider_id: FromPath[UUID]
    ) -> dict[str, Any]:
        await record(request)
        return {"id": str(provider_id), "verification": "pending"}

    @get("/internal/audit/{aggregate_id:uuid}")
    async def audit(request: Request[Any, Any, Any], aggregate_id: FromPath[UUID]) -> Response[Any]:
        await record(request)
        port = request.url.port
        if port in fakes.audit_down:
            return Response({"error": {"code": "boom"}}, status_code=500)
        if aggregate_id.int != 0 and port == 8105:
            event = {"correlation_id": "corr-1", "query": dict(request.query_params)}
            return Response(
                {"aggregate_id": str(aggregate_id), "service": "dispute", "events": [event]}
            )
        return Response({"error": {"code": "aggregate_not_found"}}, status_code=404)

    @get("/internal/audit/proofs/{aggregate_id:uuid}")
    async def proof(request: Request[Any, Any, Any], aggregate_id: FromPath[UUID]) -> Response[Any]:
        await record(request)
        if aggregate_id.int != 0 and request.url.port == 8105:
            return Response({"aggregate_id": str(aggregate_id), "leaf_index": 0, "path": []})
        return Response({"error": {"code": "event_not_chained"}}, status_code=404)

    @get("/internal/audit/correlations")
    async def correlated(request: Request[Any, Any, Any]) -> Response[Any]:
        await record(request)
        ids = request.query_params.get("ids", "").split(",")
        service = {8101: "task", 8105: "dispute"}.get(request.url.port or 0)
        if service is None or "corr-1" not in ids:
            return Response({"service": "other", "events": []})
        event = {
            "service": service,
            "aggregate_id": str(UUID(int=request.url.port or 0)),
            "version": 1,
            "timestamp": f"2026-11-30T10:00:0{9 if service == 'task' else 1}Z",
            "notification_id": 1,
            "correlation_id": "corr-1",
            "causation_id": "c",
            "state": {},
        }
        return Response({"service": service, "events": [event]})

    @get("/orders")
    async def list_orders(request: Request[Any, Any, Any]) -> dict[str, Any]:
        await record(request)
        return {"items": [], "next_cursor": None, "query": dict(request.query_params)}

    @post("/orders/{order_id:uuid}/messages", status_code=201)
    async def post_message(
        request: Request[Any, Any, Any], order_id: FromPath[UUID]
    ) -> dict[str, Any]:
        actor = await record(request)
        return {"id": str(uuid4()), "order_id": str(order_id), "author_id": actor}

    @get("/orders/{order_id:uuid}/messages")
    async def list_messages(request: Request[Any, Any, Any], order_id: FromPath[UUID]) -> list[Any]:
        await record(request)
        return []

    @get("/orders/{order_id:uuid}")
    async def get_order(
        request: Request[Any, Any, Any], order_id: FromPath[UUID]
    ) -> dict[str, Any]:
        await record(request)
        return {"id": str(order_id), "status": "accepted"}

    @post("/orders/{order_id:uuid}/vouchers", status_code=201)
    async def voucher(request: Request[Any, Any, Any], order_id: FromPath[UUID]) -> dict[str, Any]:
        await record(request)
        return {"id": str(uuid4()), "content_type": request.headers.get("content-type")}

    @post("/orders/{order_id:uuid}/disputes", status_code=201)
    async def open_dispute(
        request: Request[Any, Any, Any], order_id: FromPath[UUID]
    ) -> Response[Any]:
        await record(request)
        if order_id.int == 0:
            error = {"code": "order_not_found", "message": "no such order", "details": None}
            return Response({"error": error}, status_code=404)
        return Response({"id": str(uuid4()), "status": "open"}, status_code=201)

    @get(["/disputes/{dispute_id:uuid}", "/admin/disputes/{dispute_id:uuid}"])
    async def get_dispute(
        request: Request[Any, Any, Any], dispute_id: FromPath[UUID]
    ) -> dict[str, Any]:
        await record(request)
        return {"id": str(dispute_id), "status": "open"}

    @post(
        [
            "/disputes/{dispute_id:uuid}/responses",
            "/disputes/{dispute_id:uuid}/evidence",
            "/disputes/{dispute_id:uuid}/arbitration",
            "/disputes/{dispute_id:uuid}/withdraw",
            "/admin/disputes/{dispute_id:uuid}/resolve",
        ],
        status_code=200,
    )
    async def dispute_step(
        request: Request[Any, Any, Any], dispute_id: FromPath[UUID]
    ) -> dict[str, Any]:
        await record(request)
        return {"id": str(dispute_id), "status": "open"}

    @post("/disputes/{dispute_id:uuid}/evidence/files", status_code=201)
    async def evidence_file(
        request: Request[Any, Any, Any], dispute_id: FromPath[UUID]
    ) -> dict[str, Any]:
        await record(request)
        return {"id": str(dispute_id), "content_type": request.headers.get("content-type")}

    @get(
        [
            "/disputes/{dispute_id:uuid}/files/{sha:str}",
            "/admin/disputes/{dispute_id:uuid}/files/{sha:str}",
        ]
    )
    async def evidence_download(
        request: Request[Any, Any, Any], dispute_id: FromPath[UUID], sha: FromPath[str]
    ) -> Response[bytes]:
        await record(request)
        return Response(
            b"file-bytes",
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": 'attachment; filename="proof.png"',
                "X-Content-Type-Options": "nosniff",
                "X-Internal-Detail": "not for clients",
            },
        )

    @get("/admin/disputes")
    async def dispute_queue(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
        await record(request)
        return [{"query": dict(request.query_params)}]

    @get("/admin/providers")
    async def verification_queue(request: Request[Any, Any, Any]) -> dict[str, Any]:
        await record(request)
        return {"items": [], "next_cursor": None, "query": dict(request.query_params)}

    return Litestar(
        route_handlers=[
            audit,
            proof,
            rejection_outliers,
            correlated,
            list_orders,
            post_message,
            list_messages,
            open_dispute,
            get_dispute,
            dispute_step,
            evidence_file,
            evidence_download,
            dispute_queue,
            verification_queue,
            health,
            create_task,
            publish,
            get_task,
            list_tasks,
            take,
            deposit,
            withdraw,
            wallet,
            provider,
            verify,
            qualify,
            get_order,
            voucher,
        ]
    )


class FakeTransport(httpx.AsyncBaseTransport):
    """Every upstream host answered by the fake app (or refused when ``down``)."""

    def __init__(self, fakes: FakeServices) -> None:
        self.fakes = fakes
        self.inner = httpx.ASGITransport(app=fake_app(fakes))  # type: ignore[arg-type]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.fakes.down:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def config() -> GatewayConfig:
    return gateway_config(TEST_ENV)


@pytest.fixture
def fakes() -> FakeServices:
    return FakeServices()


@pytest.fixture
def users(config: GatewayConfig) -> Users:
    return Users(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


@pytest.fixture
def app(config: GatewayConfig, fakes: FakeServices, users: Users) -> Litestar:
    return build_app(
        load_settings("gateway", environ={}),
        config,
        transport=FakeTransport(fakes),
        idempotency=MemoryIdempotencyStore(),
        sessions=MemoryRefreshSessions(),
        hasher=CHEAP_HASHER,
        users=users,
        flags=MemoryFlagStore(),
    )


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling the app on the test's own event loop, so requests can overlap.

    (litestar's ``AsyncTestClient`` runs the app on a portal thread and serializes calls.)
    The lifespan is not run: with in-memory stores it only closes the upstream client.
    """
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gateway.test"
    ) as test_client:
        yield test_client


async def register(
    client: httpx.AsyncClient, role: str, email: str | None = None
) -> tuple[UUID, dict[str, str]]:
    """Register and log in a user; return its id and bearer header."""
    email = email or f"{uuid4().hex[:10]}@example.com"
    created = await client.post(
        "/v1/auth/register",
        json={"email": email, "password": "correct horse", "role": role, "display_name": "X"},
    )
    assert created.status_code == 201, created.text
    login = await client.post("/v1/auth/login", json={"email": email, "password": "correct horse"})
    assert login.status_code == 200, login.text
    return UUID(created.json()["id"]), {"Authorization": f"Bearer {login.json()['access_token']}"}


def admin_headers(users: Users, config: GatewayConfig) -> tuple[UUID, dict[str, str]]:
    """Create an admin directly (as the CLI does) and return its bearer header."""
    from ring_gateway.tokens import Principal, TokenService

    user_id = users.register(f"{uuid4().hex[:8]}@admin.example", "admin password", Role.ADMIN, "Ad")
    pair = TokenService(config).issue(Principal(user_id=user_id, role=Role.ADMIN))
    return user_id, {"Authorization": f"Bearer {pair.access_token}"}
