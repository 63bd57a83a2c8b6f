"""Auth endpoints are rate limited per client IP and per email."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar

from ring_gateway.ratelimit import RateLimited, RateLimiter


def test_bucket_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=2, clock=lambda: now[0])
    limiter.hit("ip:1")
    limiter.hit("ip:1")
    with pytest.raises(RateLimited) as refused:
        limiter.hit("ip:1")
    assert refused.value.retry_after == 30
    now[0] = 30.0
    limiter.hit("ip:1")


def test_an_empty_bucket_charges_no_other() -> None:
    limiter = RateLimiter(per_minute=1, clock=lambda: 0.0)
    limiter.hit("email:x")
    with pytest.raises(RateLimited):
        limiter.hit("ip:1", "email:x")
    limiter.hit("ip:1")


async def test_login_attempts_get_429_with_retry_after(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    app.state.gateway.auth_limiter = RateLimiter(per_minute=3)
    body = {"email": "victim@example.com", "password": "guess guess"}
    statuses = [(await client.post("/v1/auth/login", json=body)).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    refused = await client.post("/v1/auth/login", json=body)
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limited"
