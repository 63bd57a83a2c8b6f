"""Role checks, forwarding with a signed actor assertion, error pass-through and unreachable upstreams."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from ring_gateway.application import Users
from ring_gateway.config import GatewayConfig

from .conftest import FakeServices, admin_headers, register

TASK = {
    "title": "Label images",
    "deadline": "2030-01-01T00:00:00Z",
    "commission_minor": 1000,
    "currency": "CNY",
    "slots": 2,
}
ANY_ID = "11111111-1111-1111-1111-111111111111"

#: (method, path, body, roles allowed)
MATRIX = [
    ("POST", "/v1/tasks", TASK, {"party_a"}),
    ("POST", f"/v1/tasks/{ANY_ID}/publish", None, {"party_a"}),
    ("POST", f"/v1/tasks/{ANY_ID}/orders", None, {"party_b"}),
    ("POST", "/v1/wallet/deposits", {"amount_minor": 5, "currency": "CNY"}, {"party_a"}),
    ("POST", "/v1/wallet/withdrawals", {"amount_minor": 5, "currency": "CNY"}, {"party_b"}),
    ("GET", "/v1/wallet?currency=CNY", None, {"party_a", "party_b"}),
    ("POST", f"/v1/admin/providers/{ANY_ID}/verify", None, {"admin"}),
    ("GET", "/v1/admin/providers", None, {"admin"}),
    (
        "POST",
        "/v1/providers/me/qualifications",
        {"kind": "license", "reference": "L-1", "skills": ["x"]},
        {"party_b"},
    ),
    ("GET", f"/v1/tasks/{ANY_ID}", None, {"party_a", "party_b", "admin"}),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), MATRIX)
async def test_role_matrix(
    client: httpx.AsyncClient,
    users: Users,
    config: GatewayConfig,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    allowed: set[str],
) -> None:
    headers = {
        "party_a": (await register(client, "party_a"))[1],
        "party_b": (await register(client, "party_b"))[1],
        "admin": admin_headers(users, config)[1],
    }
    for role, auth in headers.items():
        response = await client.request(
            method, path, json=body, headers={**auth, "Idempotency-Key": uuid4().hex}
        )
        if role in allowed:
            assert response.status_code < 400, (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.json()["error"]["code"] == "forbidden"


async def test_the_verification_queue_is_forwarded_with_its_paging(
    client: httpx.AsyncClient, users: Users, config: GatewayConfig
) -> None:
    _, auth = admin_headers(users, config)
    response = await client.get(
        "/v1/admin/providers", params={"cursor": "abc", "limit": 5}, headers=auth
    )
    assert response.status_code == 200, response.text
    assert response.json()["query"] == {"cursor": "abc", "limit": "5"}


async def test_requests_are_forwarded_as_the_caller(
    client: httpx.AsyncClient, fakes: FakeServices
) -> None:
    user_id, headers = await register(client, "party_a")
    response = await client.get("/v1/wallet", params={"currency": "CNY"}, headers=headers)
    assert response.json() == {"party": str(user_id), "currency": "CNY"}
    method, path, actor, _ = fakes.calls[-1]
    assert (method, path, actor) == ("GET", f"/wallets/{user_id}", str(user_id))


async def test_upstream_errors_pass_through_unchanged(client: httpx.AsyncClient) -> None:
    _, headers = await register(client, "party_a")
    response = await client.post(f"/v1/tasks/{UUID(int=0)}/publish", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_task_owner"


async def test_unreachable_upstream_is_503_not_500(
    client: httpx.AsyncClient, fakes: FakeServices
) -> None:
    _, headers = await register(client, "party_a")
    fakes.down = True
    response = await client.get(f"/v1/tasks/{ANY_ID}", headers=headers)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "upstream_unavailable"
    ready = await client.get("/ready")
    assert ready.status_code == 503


async def test_mass_assignment_is_refused(client: httpx.AsyncClient, fakes: FakeServices) -> None:
    _, headers = await register(client, "party_a")
    response = await client.post(
        "/v1/tasks", json={**TASK, "owner_id": ANY_ID, "status": "published"}, headers=headers
    )
    assert response.status_code == 400
    assert not fakes.calls


async def test_board_query_is_forwarded(client: httpx.AsyncClient) -> None:
    _, headers = await register(client, "party_b")
    response = await client.get(
        "/v1/tasks", params={"skill": "labeling", "min_commission": 5}, headers=headers
    )
    assert response.json()["query"] == {"skill": "labeling", "min_commission": "5", "limit": "20"}


async def test_voucher_upload_is_forwarded_as_multipart(
    client: httpx.AsyncClient, fakes: FakeServices
) -> None:
    _, headers = await register(client, "party_b")
    response = await client.post(
        f"/v1/orders/{ANY_ID}/vouchers",
        files={"files": ("proof.png", b"\x89PNG....", "image/png")},
        data={"note": "done"},
        headers=headers,
    )
    assert response.status_code == 201
    assert response.json()["content_type"].startswith("multipart/form-data; boundary=")
    assert b"proof.png" in fakes.calls[-1][3]


async def test_provider_profiles(client: httpx.AsyncClient) -> None:
    b_id, b_headers = await register(client, "party_b")
    _, a_headers = await register(client, "party_a")
    assert (await client.get(f"/v1/providers/{b_id}", headers=a_headers)).status_code == 200
    assert (await client.get(f"/v1/providers/{b_id}", headers=b_headers)).status_code == 200
    other = await client.get(f"/v1/providers/{ANY_ID}", headers=b_headers)
    assert other.status_code == 403


async def test_health_and_openapi_examples(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    schema = (await client.get("/schema/openapi.json")).json()
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if path.startswith("/v1")
    ]
    assert len(operations) >= 30
    for path, method, op in operations:
        examples = [
            ex
            for response in op.get("responses", {}).values()
            for content in response.get("content", {}).values()
            for ex in content.get("examples", {}).values()
        ]
        if "204" in op["responses"]:  # no answer body to show: the request is the example
            examples = op["requestBody"]["content"]["application/json"]["schema"]["examples"]
        assert examples, f"{method.upper()} {path} has no example"
    assert "bearer" in schema["components"]["securitySchemes"]


async def test_order_list_is_the_callers_and_forwards_filters(
    client: httpx.AsyncClient, fakes: FakeServices, users: Users, config: GatewayConfig
) -> None:
    user_id, headers = await register(client, "party_b")
    response = await client.get(
        "/v1/orders", params={"status": "submitted", "cursor": "abc"}, headers=headers
    )
    assert response.status_code == 200
    assert response.json()["query"] == {"status": "submitted", "cursor": "abc", "limit": "20"}
    assert fakes.calls[-1][:3] == ("GET", "/orders", str(user_id))
    _, admin = admin_headers(users, config)
    assert (await client.get("/v1/orders", headers=admin)).status_code == 403


async def test_order_messages_are_forwarded_as_the_caller(
    client: httpx.AsyncClient, fakes: FakeServices, users: Users, config: GatewayConfig
) -> None:
    user_id, headers = await register(client, "party_a")
    sent = await client.post(
        f"/v1/orders/{ANY_ID}/messages", json={"body": "Boxes or polygons?"}, headers=headers
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["author_id"] == str(user_id)
    method, path, actor, body = fakes.calls[-1]
    assert (method, path, actor) == ("POST", f"/orders/{ANY_ID}/messages", str(user_id))
    assert body == b'{"body":"Boxes or polygons?"}'
    thread = await client.get(f"/v1/orders/{ANY_ID}/messages", headers=headers)
    assert thread.status_code == 200
    fakes.calls.clear()
    for bad in ({"body": ""}, {"body": "x", "author_id": ANY_ID}):
        refused = await client.post(f"/v1/orders/{ANY_ID}/messages", json=bad, headers=headers)
        assert refused.status_code == 400
    _, admin = admin_headers(users, config)
    forbidden = await client.post(
        f"/v1/orders/{ANY_ID}/messages", json={"body": "hi"}, headers=admin
    )
    assert forbidden.status_code == 403
    assert not fakes.calls


async def test_audit_trail_comes_from_the_service_that_knows_the_aggregate(
    client: httpx.AsyncClient, fakes: FakeServices, users: Users, config: GatewayConfig
) -> None:
    _, a_headers = await register(client, "party_a")
    forbidden = await client.get(f"/v1/admin/audit/{ANY_ID}", headers=a_headers)
    assert forbidden.status_code == 403
    assert not fakes.calls
    admin_id, admin = admin_headers(users, config)
    found = await client.get(f"/v1/admin/audit/{ANY_ID}", headers=admin)
    assert found.status_code == 200, found.text
    assert found.json()["aggregate_id"] == ANY_ID
    assert found.json()["service"] == "dispute"
    asked = {path for _, path, _, _ in fakes.calls}
    assert asked == {f"/internal/audit/{ANY_ID}"}
    assert len(fakes.calls) == 6  # task, matching, voucher, ledger, dispute, notification
    assert {actor for _, _, actor, _ in fakes.calls} == {str(admin_id)}

    unknown = await client.get(f"/v1/admin/audit/{UUID(int=0)}", headers=admin)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "aggregate_not_found"

    fakes.audit_down = {8103}  # the voucher service fails: "not found" is not certain
    unsure = await client.get(f"/v1/admin/audit/{UUID(int=0)}", headers=admin)
    assert unsure.status_code == 503
    assert unsure.json()["error"]["details"] == {"services": ["voucher"]}
    assert (await client.get(f"/v1/admin/audit/{ANY_ID}", headers=admin)).status_code == 200

    fakes.down = True
    down = await client.get(f"/v1/admin/audit/{ANY_ID}", headers=admin)
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "upstream_unavailable"


async def test_an_inclusion_proof_comes_from_the_service_that_chained_the_event(
    client: httpx.AsyncClient, fakes: FakeServices, users: Users, config: GatewayConfig
) -> None:
    _, a_headers = await register(client, "party_a")
    forbidden = await client.get(f"/v1/admin/audit/proofs/{ANY_ID}", headers=a_headers)
    assert forbidden.status_code == 403
    _, admin = admin_headers(users, config)
    found = await client.get(f"/v1/admin/audit/proofs/{ANY_ID}?version=2", headers=admin)
    assert found.status_code == 200, found.text
    assert found.json()["aggregate_id"] == ANY_ID
    assert {path for _, path, _, _ in fakes.calls} == {f"/internal/audit/proofs/{ANY_ID}"}
    unknown = await client.get(f"/v1/admin/audit/proofs/{UUID(int=0)}", headers=admin)
    assert unknown.json()["error"]["code"] == "event_not_chained"
    refused = await client.get(f"/v1/admin/audit/proofs/{ANY_ID}?at=1", headers=admin)
    assert refused.json()["error"]["code"] == "unknown_query_parameter"


async def test_audit_time_travel_passes_through_and_unknown_parameters_are_refused(
    client: httpx.AsyncClient, fakes: FakeServices, users: Users, config: GatewayConfig
) -> None:
    _, admin = admin_headers(users, config)
    found = await client.get(f"/v1/admin/audit/{ANY_ID}?version=3", headers=admin)
    assert found.json()["events"][0]["query"] == {"version": "3"}
    fakes.calls.clear()
    refused = await client.get(f"/v1/admin/audit/{ANY_ID}?versoin=3", headers=admin)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "unknown_query_parameter"
    trail = await client.get(f"/v1/admin/audit/trails/{ANY_ID}?x=1", headers=admin)
    assert trail.status_code == 400
    assert not fakes.calls


async def test_a_trail_gathers_every_service_in_time_order(
    client: httpx.AsyncClient, fakes: FakeServices, users: Users, config: GatewayConfig
) -> None:
    _, admin = admin_headers(users, config)
    trail = await client.get(f"/v1/admin/audit/trails/{ANY_ID}", headers=admin)
    assert trail.status_code == 200, trail.text
    body = trail.json()
    assert "corr-1" in body["correlation_ids"]
    assert [e["service"] for e in body["events"]] == ["dispute", "task"]  # by time
    by_correlation = await client.get("/v1/admin/audit/trails/corr-1", headers=admin)
    assert [e["service"] for e in by_correlation.json()["events"]] == ["dispute", "task"]
    nothing = await client.get("/v1/admin/audit/trails/unheard-of", headers=admin)
    assert nothing.status_code == 404
    assert nothing.json()["error"]["code"] == "trail_not_found"


async def test_the_event_contract_is_served(client: httpx.AsyncClient) -> None:
    answer = await client.get("/asyncapi.json")
    assert answer.status_code == 200, answer.text
    assert answer.json()["asyncapi"] == "3.0.0"
    assert "ring.task.events" in {c["address"] for c in answer.json()["channels"].values()}


async def test_openapi_documents_the_error_model_of_every_operation(
    client: httpx.AsyncClient,
) -> None:
    """Found by schemathesis: only litestar's 400 body (``{status_code, detail}``) was documented,
    so every 401/403/404/409/422/429/503 (and every real 400) broke the published schema."""
    schema = (await client.get("/schema/openapi.json")).json()
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
    ref = {"$ref": "#/components/schemas/Error"}
    for path, item in schema["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, op in item.items():
            statuses = {"400", "401", "403", "404", "409", "422", "503"}
            if path.startswith("/v1/auth/"):
                statuses.add("429")
            for status in statuses:
                content = op["responses"][status]["content"]["application/json"]
                assert content["schema"] == ref, f"{method.upper()} {path} {status}"
    answer = await client.get("/v1/me")
    assert answer.status_code == 401
    assert set(answer.json()) == {"error"}
    assert set(answer.json()["error"]) == {"code", "message", "details"}


async def test_openapi_documents_the_shape_of_list_answers(client: httpx.AsyncClient) -> None:
    """Found by schemathesis: list answers were documented as objects (``[]`` broke the schema).
    Paged lists answer ``{items, next_cursor}`` objects; ranked top-N lists answer arrays."""
    schema = (await client.get("/schema/openapi.json")).json()

    def answer(path: str) -> dict[str, Any]:
        body = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        return body  # type: ignore[no-any-return]

    for path in PAGED_LISTS:
        assert answer(path)["schema"]["type"] == "object", path
        example = next(iter(answer(path)["examples"].values()))["value"]
        assert isinstance(example["items"], list), path
        names = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
        assert {"cursor", "limit"} <= names, path
    for path in ("/v1/tasks/{task_id}/candidates", "/v1/providers/me/recommendations"):
        assert answer(path)["schema"]["type"] == "array", path
    assert answer("/v1/me")["schema"]["type"] == "object"


#: Every cursor-paged list of the public API.
PAGED_LISTS = (
    "/v1/tasks",
    "/v1/orders",
    "/v1/orders/{order_id}/messages",
    "/v1/orders/{order_id}/vouchers",
    "/v1/disputes",
    "/v1/admin/disputes",
    "/v1/admin/providers",
)


@pytest.mark.parametrize(
    "query",
    ["/v1/tasks?status=a%00b", "/v1/tasks?q=%00", "/v1/orders?status=%00", "/v1/tasks?a%00=1"],
)
async def test_a_nul_in_the_query_is_refused_before_any_service(
    client: httpx.AsyncClient, fakes: FakeServices, query: str
) -> None:
    """Found by schemathesis: a NUL in a filter reached PostgreSQL in the task and dispute
    services (``text`` cannot hold NUL) and came back as a 500."""
    _, auth = await register(client, "party_a")
    before = len(fakes.calls)
    answer = await client.get(query, headers=auth)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "validation_failed"
    assert len(fakes.calls) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/tasks", {"title": "Label\u0000cars", "commission_minor": 100, "currency": "CNY"}),
        ("/v1/tasks", {"title": "Label cars", "required_skills": ["ok", "bad\u0000"]}),
        (f"/v1/orders/{ANY_ID}/messages", {"body": "hello\u0000"}),
        (f"/v1/orders/{ANY_ID}/decline", {"reason": "x", "nested": {"k\u0000": 1}}),
    ],
)
async def test_a_nul_in_a_json_body_is_refused_before_any_service(
    client: httpx.AsyncClient, fakes: FakeServices, path: str, body: dict[str, Any]
) -> None:
    """A NUL in a JSON string would be stored in an event, then fail every projection that
    copies it into a PostgreSQL text column."""
    _, auth = await register(client, "party_a")
    before = len(fakes.calls)
    answer = await client.post(path, json=body, headers=auth)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "validation_failed"
    assert len(fakes.calls) == before


async def test_an_escaped_backslash_before_u0000_is_not_a_nul(
    client: httpx.AsyncClient, fakes: FakeServices
) -> None:
    """The text ``\\u0000`` (a backslash, then ``u0000``) is ordinary text and passes."""
    _, auth = await register(client, "party_a")
    answer = await client.post(
        f"/v1/orders/{ANY_ID}/messages", json={"body": "type \\u0000 to test"}, headers=auth
    )
    assert answer.status_code < 400, answer.text
    assert fakes.calls[-1][1].endswith("/messages")


async def test_openapi_declares_the_bodies_of_uploads(client: httpx.AsyncClient) -> None:
    """Uploads are forwarded as raw bodies; their documented bodies let clients (and the
    fuzzer) send real files."""
    schema = (await client.get("/schema/openapi.json")).json()
    voucher = schema["paths"]["/v1/orders/{order_id}/vouchers"]["post"]
    form = voucher["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["files"]
    assert form["properties"]["files"]["items"]["format"] == "binary"
    assert {"413", "415"} <= set(voucher["responses"])
    evidence = schema["paths"]["/v1/disputes/{dispute_id}/evidence"]["post"]
    assert set(evidence["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "413" in evidence["responses"]


async def test_a_wrong_role_is_refused_before_the_request_is_validated(
    client: httpx.AsyncClient, fakes: FakeServices
) -> None:
    """Roles are guards (decision 0008, Session 9): 403 before the body and query are read."""
    _, b_headers = await register(client, "party_b")
    invalid_task = {"title": "", "slots": 0}
    refused = await client.post("/v1/tasks", json=invalid_task, headers=b_headers)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"
    paged = await client.get("/v1/admin/providers", params={"limit": 10_000}, headers=b_headers)
    assert paged.status_code == 403, paged.text
    _, a_headers = await register(client, "party_a")
    invalid = await client.post("/v1/tasks", json=invalid_task, headers=a_headers)
    assert invalid.status_code == 400, invalid.text
    assert not fakes.calls
