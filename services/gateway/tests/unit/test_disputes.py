"""Dispute operations: role checks at the gateway, forwarding to the dispute service as the caller."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import msgspec
import pytest

from ring_gateway.application import Users
from ring_gateway.config import GatewayConfig

from .conftest import FakeServices, admin_headers, register

D = "22222222-2222-2222-2222-222222222222"
SHA = "a" * 64

#: (method, public path, body, roles allowed, internal path the caller's request reaches)
MATRIX: list[tuple[str, str, dict[str, Any] | None, set[str], str]] = [
    (
        "POST",
        f"/v1/orders/{D}/disputes",
        {"reason": "unfair", "category": "unfair_rejection"},
        {"party_a", "party_b"},
        f"/orders/{D}/disputes",
    ),
    ("GET", f"/v1/disputes/{D}", None, {"party_a", "party_b"}, f"/disputes/{D}"),
    (
        "POST",
        f"/v1/disputes/{D}/responses",
        {"statement": "no"},
        {"party_a", "party_b"},
        f"/disputes/{D}/responses",
    ),
    (
        "POST",
        f"/v1/disputes/{D}/evidence",
        {"statement": "see", "sha256": SHA},
        {"party_a", "party_b"},
        f"/disputes/{D}/evidence",
    ),
    (
        "POST",
        f"/v1/disputes/{D}/arbitration",
        None,
        {"party_a", "party_b"},
        f"/disputes/{D}/arbitration",
    ),
    ("POST", f"/v1/disputes/{D}/withdraw", None, {"party_a", "party_b"}, f"/disputes/{D}/withdraw"),
    ("GET", "/v1/admin/disputes", None, {"admin"}, "/admin/disputes"),
    ("GET", f"/v1/admin/disputes/{D}", None, {"admin"}, f"/admin/disputes/{D}"),
    (
        "POST",
        f"/v1/admin/disputes/{D}/resolve",
        {"outcome": "split", "provider_share_percent": 40},
        {"admin"},
        f"/admin/disputes/{D}/resolve",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed", "internal"), MATRIX)
async def test_dispute_roles_and_forwarding(
    client: httpx.AsyncClient,
    fakes: FakeServices,
    users: Users,
    config: GatewayConfig,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    allowed: set[str],
    internal: str,
) -> None:
    a_id, a_auth = await register(client, "party_a")
    b_id, b_auth = await register(client, "party_b")
    admin_id, admin_auth = admin_headers(users, config)
    callers = {
        "party_a": (a_id, a_auth),
        "party_b": (b_id, b_auth),
        "admin": (admin_id, admin_auth),
    }
    for role, (user_id, auth) in callers.items():
        fakes.calls.clear()
        response = await client.request(method, path, json=body, headers=auth)
        if role in allowed:
            assert response.status_code < 400, (role, response.text)
            sent_method, sent_path, actor, sent_body = fakes.calls[-1]
            assert (sent_method, sent_path, actor) == (method, internal, str(user_id))
            if body is not None:
                assert msgspec.json.decode(sent_body) == body
        elif role == "admin" and path == f"/v1/disputes/{D}":
            continue  # admins read any case (checked below)
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.json()["error"]["code"] == "forbidden"
            assert not fakes.calls


async def test_admin_reads_a_case_through_the_admin_route(
    client: httpx.AsyncClient, fakes: FakeServices, users: Users, config: GatewayConfig
) -> None:
    admin_id, auth = admin_headers(users, config)
    response = await client.get(f"/v1/disputes/{D}", headers=auth)
    assert response.status_code == 200
    assert fakes.calls[-1][:3] == ("GET", f"/admin/disputes/{D}", str(admin_id))


async def test_queue_filters_are_forwarded(
    client: httpx.AsyncClient, users: Users, config: GatewayConfig
) -> None:
    _, auth = admin_headers(users, config)
    response = await client.get(
        "/v1/admin/disputes", params={"status": "arbitration", "overdue": "true"}, headers=auth
    )
    assert response.status_code == 200
    assert response.json() == [
        {"query": {"status": "arbitration", "overdue": "true", "limit": "100"}}
    ]


async def test_evidence_file_upload_is_forwarded_as_multipart(
    client: httpx.AsyncClient, fakes: FakeServices
) -> None:
    _, auth = await register(client, "party_b")
    response = await client.post(
        f"/v1/disputes/{D}/evidence",
        files={"file": ("proof.png", b"\x89PNG....", "image/png")},
        data={"statement": "the accepted batch"},
        headers=auth,
    )
    assert response.status_code == 201, response.text
    assert response.json()["content_type"].startswith("multipart/form-data; boundary=")
    method, path, _, body = fakes.calls[-1]
    assert (method, path) == ("POST", f"/disputes/{D}/evidence/files")
    assert b"proof.png" in body
    assert b"the accepted batch" in body


async def test_evidence_file_download(
    client: httpx.AsyncClient, fakes: FakeServices, users: Users, config: GatewayConfig
) -> None:
    _, auth = await register(client, "party_a")
    response = await client.get(f"/v1/disputes/{D}/files/{SHA}", headers=auth)
    assert response.status_code == 200
    assert response.content == b"file-bytes"
    # a download stays a download through the gateway, and only the allowed headers pass
    assert response.headers["content-disposition"] == 'attachment; filename="proof.png"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "x-internal-detail" not in response.headers
    assert fakes.calls[-1][1] == f"/disputes/{D}/files/{SHA}"
    _, admin = admin_headers(users, config)
    await client.get(f"/v1/disputes/{D}/files/{SHA}", headers=admin)
    assert fakes.calls[-1][1] == f"/admin/disputes/{D}/files/{SHA}"


@pytest.mark.parametrize("sha", ["%16" + "a" * 63, "A" * 64, "a" * 63, "not-a-digest"])
async def test_evidence_file_download_refuses_a_malformed_digest(
    client: httpx.AsyncClient, fakes: FakeServices, sha: str
) -> None:
    """Found by schemathesis: a control character in the digest made the upstream URL invalid (500)."""
    _, auth = await register(client, "party_a")
    before = len(fakes.calls)
    response = await client.get(f"/v1/disputes/{D}/files/{sha}", headers=auth)
    assert response.status_code in (400, 404)
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert len(fakes.calls) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"/v1/orders/{D}/disputes", {"reason": "x", "category": "bribery"}),
        (f"/v1/orders/{D}/disputes", {"reason": ""}),
        (f"/v1/orders/{D}/disputes", {"reason": "x", "status": "resolved"}),
        (f"/v1/disputes/{D}/evidence", {"statement": "x", "sha256": "not-a-digest"}),
        (f"/v1/disputes/{D}/evidence", {"statement": "x", "added_by": str(uuid4())}),
    ],
)
async def test_bad_dispute_input_is_refused_before_forwarding(
    client: httpx.AsyncClient, fakes: FakeServices, path: str, body: dict[str, Any]
) -> None:
    _, auth = await register(client, "party_b")
    response = await client.post(path, json=body, headers=auth)
    assert response.status_code == 400, response.text
    assert not fakes.calls


async def test_bad_resolution_is_refused_and_errors_pass_through(
    client: httpx.AsyncClient, fakes: FakeServices, users: Users, config: GatewayConfig
) -> None:
    _, admin = admin_headers(users, config)
    bad = await client.post(
        f"/v1/admin/disputes/{D}/resolve", json={"outcome": "keep"}, headers=admin
    )
    assert bad.status_code == 400
    assert not fakes.calls
    _, auth = await register(client, "party_a")
    missing = await client.post(
        f"/v1/orders/{UUID(int=0)}/disputes", json={"reason": "late"}, headers=auth
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "order_not_found"
