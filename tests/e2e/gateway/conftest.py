"""The gateway on real PostgreSQL in front of real task and ledger apps (cross-service, so in
tests/e2e, docs/conventions.md).

The task and ledger services run in-process (litestar ``AsyncTestClient``, whose lifespan starts
their relays and consumers on the session's broker), each on its own fresh schema; the gateway's
upstream calls reach them through :class:`InProcessServices`.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from ring_gateway.config import gateway_config
from ring_gateway.main import build_app
from ring_ledger.main import create_app as create_ledger_app
from ring_runtime.settings import Settings
from ring_runtime.testing import settings_for
from ring_task.main import create_app as create_task_app

GATEWAY_ENV = {
    "RING_JWT_SECRET": "integration-test-secret-0123456789abcdef",
    "RING_PII_KEY": base64.b64encode(b"p" * 32).decode(),
    "RING_TASK_URL": "http://task.internal",
    "RING_MATCHING_URL": "http://matching.internal",
    "RING_VOUCHER_URL": "http://voucher.internal",
    "RING_LEDGER_URL": "http://ledger.internal",
}


@pytest.fixture
def gateway_settings(postgres_url: str, kafka_bootstrap: str, db_schema: str) -> Settings:
    return settings_for("gateway", postgres_url, kafka_bootstrap, db_schema)


class InProcessServices(httpx.AsyncBaseTransport):
    """Routes ``http://<name>.internal`` to the in-process service of that name."""

    def __init__(self, clients: dict[str, AsyncTestClient[Litestar]]) -> None:
        self.clients = clients

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        name = request.url.host.removesuffix(".internal")
        if name not in self.clients:
            raise httpx.ConnectError(f"{name} is not running", request=request)
        answer = await self.clients[name].request(
            request.method,
            request.url.raw_path.decode(),
            content=await request.aread(),
            headers=dict(request.headers),
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


@pytest.fixture
async def platform(
    service_settings: Callable[..., Settings], gateway_settings: Settings
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A gateway client in front of running task and ledger services."""
    task_settings = service_settings("task")
    ledger_settings = service_settings("ledger")
    async with (
        AsyncTestClient(create_ledger_app(ledger_settings)) as ledger,
        AsyncTestClient(create_task_app(task_settings)) as tasks,
    ):
        services = InProcessServices({"task": tasks, "ledger": ledger})
        app = build_app(gateway_settings, gateway_config(GATEWAY_ENV), transport=services)
        async with AsyncTestClient(app) as gateway:
            yield gateway
