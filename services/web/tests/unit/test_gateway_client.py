"""The gateway client: API errors become ApiError with the stable code, an expired access
token is refreshed once and kept in the session, and a live stream never rotates tokens."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from ring_web.gateway import ApiError, Gateway, SignedOut


def _client(handler: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url="http://gw", transport=httpx.MockTransport(handler))


def _error(status: int, code: str) -> httpx.Response:
    body = {"error": {"code": code, "message": "why", "details": [{"key": "slots"}]}}
    return httpx.Response(status, json=body)


async def test_error_answers_carry_the_code_and_fields() -> None:
    async with _client(lambda request: _error(400, "validation_failed")) as client:
        with pytest.raises(ApiError) as raised:
            await Gateway(client, {"access_token": "a"}).call("GET", "/v1/tasks")
    assert raised.value.code == "validation_failed"
    assert raised.value.field_errors() == {"slots": ""}


async def test_an_expired_access_token_is_refreshed_once_and_kept() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/auth/refresh":
            assert json.loads(request.content) == {"refresh_token": "r1"}
            return httpx.Response(200, json={"access_token": "a2", "refresh_token": "r2"})
        seen.append(request.headers["authorization"])
        if request.headers["authorization"] == "Bearer a1":
            return _error(401, "invalid_token")
        return httpx.Response(200, json={"ok": True})

    session: dict[str, Any] = {"access_token": "a1", "refresh_token": "r1"}
    async with _client(handler) as client:
        assert await Gateway(client, session).call("GET", "/v1/me") == {"ok": True}
    assert seen == ["Bearer a1", "Bearer a2"]
    assert session == {"access_token": "a2", "refresh_token": "r2"}


async def test_a_refused_refresh_signs_out() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _error(401, "refresh_token_reused" if "refresh" in request.url.path else "x")

    session: dict[str, Any] = {"access_token": "a1", "refresh_token": "r1", "user": {}}
    async with _client(handler) as client:
        with pytest.raises(SignedOut):
            await Gateway(client, session).call("GET", "/v1/me")
    assert session == {}


async def test_a_live_stream_does_not_rotate_tokens() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return _error(401, "invalid_token")

    session = {"access_token": "a1", "refresh_token": "r1"}
    async with _client(handler) as client:
        with pytest.raises(SignedOut):
            await Gateway(client, session, may_refresh=False).call("GET", "/v1/me")
    assert paths == ["/v1/me"]
    assert session["refresh_token"] == "r1"


async def test_an_unreachable_gateway_is_a_503_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with _client(handler) as client:
        with pytest.raises(ApiError) as raised:
            await Gateway(client, {"access_token": "a"}).call("GET", "/v1/me")
    assert (raised.value.status, raised.value.code) == (503, "upstream_unavailable")


async def test_no_session_is_signed_out_without_calling() -> None:
    async with _client(lambda request: pytest.fail("called")) as client:
        with pytest.raises(SignedOut):
            await Gateway(client, {}).call("GET", "/v1/me")
