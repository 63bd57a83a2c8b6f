"""Bad bearer tokens are refused with 401 ``invalid_token``."""

from __future__ import annotations

import base64
import json
import warnings
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from ring_gateway.config import GatewayConfig

from .conftest import register


def _claims(config: GatewayConfig, sub: str, **changes: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": config.jwt_issuer,
        "aud": config.jwt_audience,
        "sub": sub,
        "role": "admin",
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    claims.update(changes)
    return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_a_well_formed_token_works(client: httpx.AsyncClient, config: GatewayConfig) -> None:
    user_id, _ = await register(client, "party_a")
    token = jwt.encode(_claims(config, str(user_id), role="party_a"), config.jwt_secret, "HS256")
    assert (
        await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 200


@pytest.mark.parametrize(
    "case",
    ["none", "wrong_key", "wrong_aud", "wrong_iss", "expired", "tampered", "missing", "hs512"],
)
async def test_bad_tokens_are_refused(
    client: httpx.AsyncClient, config: GatewayConfig, case: str
) -> None:
    user_id, _ = await register(client, "party_a")
    sub = str(user_id)
    secret = config.jwt_secret
    if case == "none":
        header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        token = f"{header}.{_b64(json.dumps(_claims(config, sub)).encode())}."
    elif case == "wrong_key":
        token = jwt.encode(_claims(config, sub), "another-secret-of-enough-length-000", "HS256")
    elif case == "wrong_aud":
        token = jwt.encode(_claims(config, sub, aud="someone-else"), secret, "HS256")
    elif case == "wrong_iss":
        token = jwt.encode(_claims(config, sub, iss="evil"), secret, "HS256")
    elif case == "expired":
        past = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())
        token = jwt.encode(_claims(config, sub, exp=past), secret, "HS256")
    elif case == "tampered":
        good = jwt.encode(_claims(config, sub, role="party_a"), secret, "HS256")
        head, _, signature = good.split(".")
        token = (
            f"{head}.{_b64(json.dumps(_claims(config, sub, role='admin')).encode())}.{signature}"
        )
    elif case == "hs512":
        # A token signed with our secret but another algorithm (PyJWT warns that the secret is
        # short for HS512; the gateway refuses the algorithm anyway).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            token = jwt.encode(_claims(config, sub), secret, "HS512")
    else:
        token = ""
    response = await client.post(
        "/v1/admin/providers/00000000-0000-0000-0000-000000000001/verify",
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_refresh_token_without_a_session_family_is_refused(
    client: httpx.AsyncClient, config: GatewayConfig
) -> None:
    """Refresh tokens from before server-side sessions carry no ``fam``: sign in again."""
    user_id, _ = await register(client, "party_a")
    claims = _claims(config, str(user_id), role="party_a", typ="refresh", jti="j-1")
    token = jwt.encode(claims, config.jwt_secret, "HS256")
    for path in ("/v1/auth/refresh", "/v1/auth/logout"):
        response = await client.post(path, json={"refresh_token": token})
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "invalid_token"
