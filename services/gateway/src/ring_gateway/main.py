"""Wiring of the gateway: ``create_app(settings)`` and the :data:`SERVICE` entry point.

The gateway keeps users (event-sourced), idempotency keys and refresh sessions (two stores
sharing one connection pool) in its own schema, holds no Kafka connection, and reaches the
internal services over HTTP with one shared ``httpx.AsyncClient``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
from argon2 import PasswordHasher
from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from psycopg_pool import ConnectionPool

from ring_gateway.api import ROUTE_HANDLERS
from ring_gateway.api.support import Gateway, authenticate, authenticate_first
from ring_gateway.application import Users
from ring_gateway.config import GatewayConfig, gateway_config
from ring_gateway.domain import Role
from ring_gateway.errors import gateway_exception_handlers
from ring_gateway.flags import FlagStore, PostgresFlagStore
from ring_gateway.idempotency import IdempotencyStore, PostgresIdempotencyStore
from ring_gateway.openapi import (
    document_enforcement,
    document_errors,
    document_links,
    document_uploads,
)
from ring_gateway.pii import PersonalDataCipher
from ring_gateway.ratelimit import RateLimiter
from ring_gateway.sessions import PostgresRefreshSessions, RefreshSessions
from ring_gateway.tokens import InvalidToken, TokenService
from ring_gateway.upstream import Upstreams
from ring_runtime.connections import still_connected
from ring_runtime.http import correlation_middleware, screen_request, security_headers_middleware
from ring_runtime.identity import gateway_signer
from ring_runtime.process import _ping_database
from ring_runtime.service import ServiceDefinition
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.telemetry import configure_telemetry, http_telemetry, metrics_endpoint

#: Timeout of one call to an internal service.
UPSTREAM_TIMEOUT = httpx.Timeout(15.0, connect=2.0)


@get("/health", operation_id="Health", tags=["operations"], sync_to_thread=False)
def health() -> dict[str, str]:
    """Liveness: the gateway process is up."""
    return {"status": "ok"}


@get("/ready", operation_id="Ready", tags=["operations"])
async def ready(request: Request[Any, Any, Any], state: State) -> Response[dict[str, Any]]:
    """Readiness: the gateway's store and every internal service answer.

    Anyone learns ``{"status": "ready"}`` or ``"unavailable"`` (503); only an admin's bearer
    token also gets the check of each dependency, which names the internal services."""
    gw: Gateway = state.gateway
    settings: Settings = state.settings
    checks: dict[str, str] = {}
    try:
        await asyncio.to_thread(_ping_database, settings.database_url)
        checks["store"] = "ok"
    except Exception as error:
        checks["store"] = f"unreachable: {type(error).__name__}"
    names = sorted(gw.upstreams.base_urls)
    answers = await asyncio.gather(*(gw.upstreams.healthy(n) for n in names))
    checks.update({n: "ok" if ok else "unreachable" for n, ok in zip(names, answers, strict=True)})
    ok = all(v == "ok" for v in checks.values())
    body: dict[str, Any] = {"status": "ready" if ok else "unavailable"}
    if _is_admin(request, gw):
        body |= checks
    return Response(body, status_code=200 if ok else 503)


def _is_admin(request: Request[Any, Any, Any], gw: Gateway) -> bool:
    """Whether ``request`` carries a valid admin access token (none or another is no error)."""
    try:
        return authenticate(request, gw).role is Role.ADMIN
    except InvalidToken:
        return False


def build_app(
    settings: Settings,
    config: GatewayConfig,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    idempotency: IdempotencyStore | None = None,
    sessions: RefreshSessions | None = None,
    hasher: PasswordHasher | None = None,
    users: Users | None = None,
    flags: FlagStore | None = None,
) -> Litestar:
    """The gateway app.

    Tests pass a ``transport`` to reach fake or in-process services, in-memory
    ``idempotency``, ``sessions`` and ``flags`` stores and ``users`` application, and a cheap argon2
    ``hasher``. The stores not passed are PostgreSQL ones sharing one connection pool.
    """
    configure_telemetry(settings.service, trace_sql=settings.trace_sql)
    users = users if users is not None else create_application(Users, settings)
    users.configure(PersonalDataCipher(config.pii_key), hasher)
    client = httpx.AsyncClient(transport=transport, timeout=UPSTREAM_TIMEOUT)
    pool = ConnectionPool(
        settings.database_url,
        min_size=1,
        max_size=10,
        open=False,
        check=still_connected,  # drop connections a PostgreSQL restart broke
    )
    tables: list[Callable[[], None]] = []
    if idempotency is None:
        ttl = timedelta(hours=config.idempotency_ttl_hours)
        idempotency = PostgresIdempotencyStore(pool, settings.db_schema, ttl)
        tables.append(idempotency.create_table)
    if sessions is None:
        sessions = PostgresRefreshSessions(pool, settings.db_schema)
        tables.append(sessions.create_table)
    if flags is None:
        flags = PostgresFlagStore(pool, settings.db_schema)
        tables.append(flags.create_table)
    gw = Gateway(
        users=users,
        tokens=TokenService(config),
        upstreams=Upstreams(
            client, config.upstreams, gateway_signer(config.signing_key, settings.data_dir)
        ),
        idempotency=idempotency,
        sessions=sessions,
        auth_limiter=RateLimiter(config.auth_rate_limit_per_minute),
        refresh_limiter=RateLimiter(config.refresh_rate_limit_per_minute),
        flags=flags,
        currencies=settings.currencies,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        if tables:
            await asyncio.to_thread(_open_stores, pool, tables)
        try:
            yield
        finally:
            await client.aclose()
            if tables:
                await asyncio.to_thread(pool.close)
            await asyncio.to_thread(users.close)

    def provide_gateway() -> Gateway:
        return gw

    app = Litestar(
        route_handlers=[health, ready, metrics_endpoint, *ROUTE_HANDLERS],
        lifespan=[lifespan],
        state=State({"gateway": gw, "settings": settings, "application": users}),
        dependencies={
            "gw": Provide(provide_gateway, sync_to_thread=False),
            "principal": Provide(authenticate, sync_to_thread=False),
        },
        before_request=screen_request,
        guards=[authenticate_first],
        exception_handlers=gateway_exception_handlers(),
        middleware=[http_telemetry, security_headers_middleware, correlation_middleware],
        openapi_config=OpenAPIConfig(
            title="Ring public API",
            version="1.0.0",
            path="/schema",
            description=(
                "The public face of Ring. Authenticate with POST /v1/auth/login and send "
                "`Authorization: Bearer <access_token>`. Errors are "
                '`{"error": {"code", "message", "details"}}` with a stable code.'
            ),
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
                }
            ),
            security=[{"bearer": []}],
        ),
    )
    document_errors(app.openapi_schema)
    document_uploads(app.openapi_schema)
    document_enforcement(app)
    document_links(app.openapi_schema)
    return app


def _open_stores(pool: ConnectionPool, tables: list[Callable[[], None]]) -> None:
    """Open the stores' shared pool and create their tables if needed."""
    pool.open(wait=True, timeout=30)
    for create_table in tables:
        create_table()


def create_app(settings: Settings) -> Litestar:
    """The gateway process, configured from the environment."""
    return build_app(settings, gateway_config())


SERVICE = ServiceDefinition(name="gateway", create_app=create_app, application_name=Users.name)
