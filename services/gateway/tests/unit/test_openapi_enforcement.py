"""The OpenAPI document says what the gateway enforces (issue 11, item 16)."""

from __future__ import annotations

from typing import Any

import httpx

from ring_gateway.application import Users
from ring_gateway.config import GatewayConfig

from .conftest import FakeServices, admin_headers, register


async def _schema(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/schema/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


async def test_operations_without_a_caller_are_public_in_the_schema(
    client: httpx.AsyncClient,
) -> None:
    schema = await _schema(client)
    assert schema["security"] == [{"bearer": []}]
    public = {
        (method, path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if operation.get("security") == []
    }
    assert {("get", "/health"), ("get", "/ready"), ("post", "/v1/auth/register")} <= public
    assert {("post", "/v1/auth/login"), ("post", "/v1/auth/refresh")} <= public
    assert ("get", "/v1/me") not in public
    assert ("post", "/v1/wallet/deposits") not in public
    assert len(public) == 6, sorted(public)  # and logout: its refresh token is the proof


async def test_request_bodies_declare_unknown_fields_refused(
    client: httpx.AsyncClient, fakes: FakeServices
) -> None:
    schema = await _schema(client)
    components = schema["components"]["schemas"]
    requests = [name for name in components if name.endswith("Request")]
    assert len(requests) >= 10
    for name in requests:
        assert components[name]["additionalProperties"] is False, name
    _, headers = await register(client, "party_a")
    sneaky = await client.post(
        "/v1/wallet/deposits",
        json={"amount_minor": 100, "currency": "CNY", "party_id": "someone-else"},
        headers={**headers, "Idempotency-Key": "k"},
    )
    assert sneaky.status_code == 400  # and the schema said so
    assert not fakes.calls


async def test_idempotency_key_is_declared_required_where_it_is(
    client: httpx.AsyncClient,
) -> None:
    schema = await _schema(client)

    def key_required(path: str) -> bool:
        (header,) = [
            p for p in schema["paths"][path]["post"]["parameters"] if p["name"] == "Idempotency-Key"
        ]
        return bool(header["required"])

    assert key_required("/v1/wallet/deposits")
    assert key_required("/v1/wallet/withdrawals")
    assert not key_required("/v1/tasks")
    _, headers = await register(client, "party_a")
    missing = await client.post(
        "/v1/wallet/deposits", json={"amount_minor": 100, "currency": "CNY"}, headers=headers
    )
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "invalid_idempotency_key"


async def test_a_405_names_the_allowed_methods(client: httpx.AsyncClient) -> None:
    answer = await client.delete("/v1/auth/login")
    assert answer.status_code == 405
    assert "POST" in answer.headers["allow"]
    assert answer.json()["error"]["code"] == "http_405"


async def test_readiness_hides_the_topology_from_all_but_admins(
    client: httpx.AsyncClient, users: Users, config: GatewayConfig
) -> None:
    anonymous = await client.get("/ready")
    assert anonymous.json() == {"status": anonymous.json()["status"]}
    _, party = await register(client, "party_a")
    assert set((await client.get("/ready", headers=party)).json()) == {"status"}
    _, admin = admin_headers(users, config)
    detailed = (await client.get("/ready", headers=admin)).json()
    assert {"status", "task", "ledger"} <= set(detailed)


async def test_the_main_flows_are_linked(client: httpx.AsyncClient) -> None:
    """OpenAPI links: what schemathesis' stateful run (tests/e2e/test_api_fuzz.py) follows."""
    schema = await _schema(client)
    created = schema["paths"]["/v1/tasks"]["post"]["responses"]["201"]["links"]
    assert set(created) == {"GetTask", "PublishTask", "CancelTask"}
    assert created["PublishTask"]["parameters"] == {"task_id": "$response.body#/id"}
    taken = schema["paths"]["/v1/tasks/{task_id}/orders"]["post"]["responses"]["201"]["links"]
    assert taken["GetOrder"]["operationId"] == "GetOrder"
    operation_ids = {op["operationId"] for item in schema["paths"].values() for op in item.values()}
    for path in schema["paths"].values():
        for op in path.values():
            for answer in op["responses"].values():
                for link in answer.get("links", {}).values():
                    assert link["operationId"] in operation_ids
