"""Through the gateway on PostgreSQL: a session is rotated, ended by a replay, and logged out."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

pytestmark = pytest.mark.integration


async def test_refresh_replay_and_logout(platform: AsyncTestClient[Litestar]) -> None:
    gateway = platform
    credentials = {"email": "rotating@example.com", "password": "correct horse battery"}
    registered = await gateway.post(
        "/v1/auth/register", json={**credentials, "role": "party_a", "display_name": "R"}
    )
    assert registered.status_code == 201, registered.text
    first = (await gateway.post("/v1/auth/login", json=credentials)).json()["refresh_token"]
    second = await gateway.post("/v1/auth/refresh", json={"refresh_token": first})
    assert second.status_code == 200, second.text
    replay = await gateway.post("/v1/auth/refresh", json={"refresh_token": first})
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "refresh_token_reused"
    newest = {"refresh_token": second.json()["refresh_token"]}
    assert (await gateway.post("/v1/auth/refresh", json=newest)).status_code == 401

    other = (await gateway.post("/v1/auth/login", json=credentials)).json()["refresh_token"]
    logout = await gateway.post("/v1/auth/logout", json={"refresh_token": other})
    assert logout.status_code == 204
    after = await gateway.post("/v1/auth/refresh", json={"refresh_token": other})
    assert after.json()["error"]["code"] == "invalid_token"
