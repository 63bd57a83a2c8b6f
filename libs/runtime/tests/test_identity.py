"""Actor assertions: only the gateway's key vouches for a user, and services check roles."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID, uuid4

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar import Litestar, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.testing import TestClient

from ring_runtime.http import actor_id, allow, exception_handlers
from ring_runtime.identity import (
    ADMIN,
    ASSERTION_HEADER,
    AUDIENCE,
    ISSUER,
    PARTY_A,
    PARTY_B,
    AssertionSigner,
    AssertionVerifier,
    development_identity_keys,
    new_identity_keys,
)

SIGNING, VERIFY = new_identity_keys()
SIGNER = AssertionSigner(SIGNING)


@get("/mine", sync_to_thread=False)
def mine(actor: NamedDependency[UUID]) -> dict[str, str]:
    return {"actor": str(actor)}


@post("/admin/resolve", guards=[allow(ADMIN)], sync_to_thread=False)
def resolve() -> dict[str, str]:
    return {"resolved": "yes"}


@pytest.fixture
def client() -> Any:
    app = Litestar(
        route_handlers=[mine, resolve],
        state=State({"identity": AssertionVerifier(VERIFY)}),
        dependencies={"actor": Provide(actor_id, sync_to_thread=False)},
        exception_handlers=exception_handlers({}),
    )
    with TestClient(app) as test_client:
        yield test_client


def headers(token: str) -> dict[str, str]:
    return {ASSERTION_HEADER: token}


def test_a_signed_assertion_names_the_actor(client: TestClient[Litestar]) -> None:
    user = uuid4()
    answer = client.get("/mine", headers=headers(SIGNER.sign(user, PARTY_A)))
    assert answer.status_code == 200
    assert answer.json() == {"actor": str(user)}


def test_a_bare_actor_header_is_not_trusted(client: TestClient[Litestar]) -> None:
    answer = client.get("/mine", headers={"X-Ring-Actor": str(uuid4())})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "actor_required"


def test_an_assertion_signed_with_another_key_is_refused(client: TestClient[Litestar]) -> None:
    forger = AssertionSigner(new_identity_keys()[0])
    answer = client.get("/mine", headers=headers(forger.sign(uuid4(), ADMIN)))
    assert answer.status_code == 401


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(uuid4()),
        "role": ADMIN,
        "iat": now,
        "exp": now + 60,
    }
    claims.update(overrides)
    return claims


def test_expired_unsigned_and_symmetric_assertions_are_refused(
    client: TestClient[Litestar],
) -> None:
    import base64

    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(SIGNING))
    expired = jwt.encode(_claims(iat=0, exp=10), key, algorithm="EdDSA")
    unsigned = jwt.encode(_claims(), None, algorithm="none")  # type: ignore[arg-type]
    symmetric = jwt.encode(_claims(), VERIFY.encode() * 2, algorithm="HS256")
    wrong_audience = jwt.encode(_claims(aud="ring-api"), key, algorithm="EdDSA")
    for token in (expired, unsigned, symmetric, wrong_audience):
        assert client.get("/mine", headers=headers(token)).status_code == 401, token


def test_services_check_roles_on_admin_routes(client: TestClient[Litestar]) -> None:
    party = client.post("/admin/resolve", headers=headers(SIGNER.sign(uuid4(), PARTY_B)))
    assert party.status_code == 403
    assert party.json()["error"]["code"] == "forbidden"
    admin = client.post("/admin/resolve", headers=headers(SIGNER.sign(uuid4(), ADMIN)))
    assert admin.status_code == 201
    assert client.post("/admin/resolve").status_code == 401


def test_processes_starting_together_share_one_development_pair(tmp_path: Any) -> None:
    first = development_identity_keys(str(tmp_path))
    assert development_identity_keys(str(tmp_path)) == first
    assert AssertionSigner(first[0]).verify_key == first[1]
    assert (tmp_path / "gateway-identity-dev.json").stat().st_mode & 0o777 == 0o600
