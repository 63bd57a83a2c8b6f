"""Auth endpoints are rate limited per client IP and per account from one IP; refresh apart."""

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


def test_a_refused_request_creates_no_bucket() -> None:
    limiter = RateLimiter(per_minute=1, clock=lambda: 0.0)
    limiter.hit("ip:attacker")
    for n in range(100):
        with pytest.raises(RateLimited):
            limiter.hit("ip:attacker", f"account:{n}:attacker")
    assert len(limiter) == 1


def test_a_full_table_evicts_the_least_recently_used_bucket_only() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=1, clock=lambda: now[0], max_keys=3)
    limiter.hit("ip:busy")
    for n in range(10):  # a flood of fresh keys, the busy client still active in between
        limiter.hit(f"ip:flood-{n}")
        now[0] += 0.001
        with pytest.raises(RateLimited):
            limiter.hit("ip:busy")  # its empty bucket survived: the table was never cleared
    assert len(limiter) == 3


def test_the_oldest_bucket_goes_first() -> None:
    limiter = RateLimiter(per_minute=1, clock=lambda: 0.0, max_keys=2)
    limiter.hit("ip:a")
    limiter.hit("ip:b")
    limiter.hit("ip:c")  # evicts a, keeps b
    with pytest.raises(RateLimited):
        limiter.hit("ip:b")
    limiter.hit("ip:a")  # forgotten: a full bucket again


def _from(app: Litestar, address: str) -> httpx.AsyncClient:
    """A client whose requests come from ``address`` (what uvicorn makes of a trusted proxy's
    X-Forwarded-For, or the peer itself)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://gateway.test")


async def test_guessing_from_elsewhere_does_not_lock_the_owner_out(app: Litestar) -> None:
    app.state.gateway.auth_limiter = RateLimiter(per_minute=3)
    owner = {"email": "owner@example.com", "password": "owner's passphrase"}
    async with _from(app, "198.51.100.2") as mine, _from(app, "203.0.113.7") as attacker:
        registered = await mine.post(
            "/v1/auth/register", json={**owner, "role": "party_a", "display_name": "O"}
        )
        assert registered.status_code == 201, registered.text
        guess = {**owner, "password": "guess guess"}
        statuses = [
            (await attacker.post("/v1/auth/login", json=guess)).status_code for _ in range(4)
        ]
        assert statuses == [401, 401, 401, 429]
        assert (await mine.post("/v1/auth/login", json=owner)).status_code == 200


async def test_refreshes_have_their_own_bucket(client: httpx.AsyncClient, app: Litestar) -> None:
    gw = app.state.gateway
    gw.auth_limiter = RateLimiter(per_minute=2)
    gw.refresh_limiter = RateLimiter(per_minute=2)
    for _ in range(2):
        await client.post("/v1/auth/refresh", json={"refresh_token": "not-a-token"})
    refused = await client.post("/v1/auth/refresh", json={"refresh_token": "not-a-token"})
    assert refused.status_code == 429
    body = {"email": "someone@example.com", "password": "whatever it is"}
    assert (await client.post("/v1/auth/login", json=body)).status_code == 401  # not 429
