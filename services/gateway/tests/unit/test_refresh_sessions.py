"""Refresh sessions: rotation, replay detection, logout (one session or all of a user's)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
from litestar import Litestar

from ring_gateway.domain import Role
from ring_gateway.ratelimit import RateLimiter
from ring_gateway.tokens import Principal

from .conftest import register


async def _sign_up(client: httpx.AsyncClient) -> str:
    email = f"{uuid4().hex[:10]}@example.com"
    await register(client, "party_a", email)
    return email


async def _login(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    """A new session of ``email``: its tokens."""
    login = await client.post("/v1/auth/login", json={"email": email, "password": "correct horse"})
    assert login.status_code == 200, login.text
    tokens: dict[str, Any] = login.json()
    return tokens


async def _refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/v1/auth/refresh", json={"refresh_token": refresh_token})


async def _logout(
    client: httpx.AsyncClient, refresh_token: str, all_sessions: bool = False
) -> httpx.Response:
    body = {"refresh_token": refresh_token, "all_sessions": all_sessions}
    return await client.post("/v1/auth/logout", json=body)


def _refused(response: httpx.Response, code: str = "invalid_token") -> bool:
    return response.status_code == 401 and response.json()["error"]["code"] == code


async def test_refresh_gives_a_new_refresh_token_that_works(client: httpx.AsyncClient) -> None:
    first = await _login(client, await _sign_up(client))
    refreshed = await _refresh(client, first["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await _refresh(client, second["refresh_token"])).status_code == 200


async def test_a_replayed_refresh_token_ends_its_whole_session(client: httpx.AsyncClient) -> None:
    email = await _sign_up(client)
    stolen = (await _login(client, email))["refresh_token"]
    newest = (await _refresh(client, stolen)).json()["refresh_token"]
    other_session = (await _login(client, email))["refresh_token"]

    replay = await _refresh(client, stolen)
    assert _refused(replay, "refresh_token_reused")
    assert "sign in again" in replay.json()["error"]["message"]
    assert replay.headers["WWW-Authenticate"].startswith("Bearer")
    assert _refused(await _refresh(client, newest))  # the whole family is revoked
    assert _refused(await _refresh(client, stolen), "refresh_token_reused")
    assert (await _refresh(client, other_session)).status_code == 200  # another login is not


async def test_concurrent_refreshes_with_one_token_succeed_once(client: httpx.AsyncClient) -> None:
    token = (await _login(client, await _sign_up(client)))["refresh_token"]
    answers = await asyncio.gather(*(_refresh(client, token) for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [200, 401, 401, 401, 401]
    assert all(_refused(a, "refresh_token_reused") for a in answers if a.status_code == 401)


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    tokens = await _login(client, await _sign_up(client))
    newest = (await _refresh(client, tokens["refresh_token"])).json()["refresh_token"]
    logout = await _logout(client, newest)
    assert logout.status_code == 204
    assert logout.content == b""
    assert _refused(await _refresh(client, newest))


async def test_logout_of_all_sessions_ends_only_that_users_sessions(
    client: httpx.AsyncClient,
) -> None:
    email = await _sign_up(client)
    phone, laptop = await _login(client, email), await _login(client, email)
    someone_else = await _login(client, await _sign_up(client))
    assert (await _logout(client, phone["refresh_token"], all_sessions=True)).status_code == 204
    assert _refused(await _refresh(client, phone["refresh_token"]))
    assert _refused(await _refresh(client, laptop["refresh_token"]))
    assert (await _refresh(client, someone_else["refresh_token"])).status_code == 200


async def test_logout_is_idempotent(client: httpx.AsyncClient) -> None:
    token = (await _login(client, await _sign_up(client)))["refresh_token"]
    assert (await _logout(client, token)).status_code == 204
    assert (await _logout(client, token)).status_code == 204
    assert (await _logout(client, token, all_sessions=True)).status_code == 204


async def test_access_tokens_stay_valid_after_logout_until_they_expire(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    """By design (decision 0008): access tokens are never looked up, so logout cannot revoke
    them; they are short-lived instead (15 minutes by default)."""
    user_id, _ = await register(client, "party_a", "leaving@example.com")
    tokens = await _login(client, "leaving@example.com")
    assert (await _logout(client, tokens["refresh_token"])).status_code == 204
    after_logout = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get("/v1/me", headers=after_logout)).status_code == 200

    service = app.state.gateway.tokens
    one_lifetime_ago = datetime.now(UTC) - service.access_lifetime
    old = service.issue(Principal(user_id=user_id, role=Role.PARTY_A), now=one_lifetime_ago)
    expired = {"Authorization": f"Bearer {old.access_token}"}
    assert _refused(await client.get("/v1/me", headers=expired))


async def test_logout_refuses_what_is_not_a_refresh_token_of_ours(
    client: httpx.AsyncClient,
) -> None:
    tokens = await _login(client, await _sign_up(client))
    head, claims, _ = tokens["refresh_token"].split(".")
    for bad in ("not-a-jwt", tokens["access_token"], f"{head}.{claims}.forged-signature"):
        assert _refused(await _logout(client, bad)), bad
    assert (await _refresh(client, tokens["refresh_token"])).status_code == 200


async def test_logout_is_rate_limited(client: httpx.AsyncClient, app: Litestar) -> None:
    token = (await _login(client, await _sign_up(client)))["refresh_token"]
    app.state.gateway.refresh_limiter = RateLimiter(per_minute=1)  # logout shares it
    assert (await _logout(client, token)).status_code == 204
    limited = await _logout(client, token)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
