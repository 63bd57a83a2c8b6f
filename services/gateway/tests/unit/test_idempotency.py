"""Idempotency-Key: replay, mismatch, in-flight duplicates, missing keys."""

from __future__ import annotations

import asyncio

import httpx

from .conftest import FakeServices, register

DEPOSIT = {"amount_minor": 5000, "currency": "CNY"}


async def test_same_key_and_body_replays_the_first_response(
    client: httpx.AsyncClient, fakes: FakeServices
) -> None:
    user_id, headers = await register(client, "party_a")
    headers = {**headers, "Idempotency-Key": "dep-1"}
    first = await client.post("/v1/wallet/deposits", json=DEPOSIT, headers=headers)
    second = await client.post("/v1/wallet/deposits", json=DEPOSIT, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert fakes.paths().count("POST /deposits") == 1
    assert first.json()["key"] == f"{user_id}:dep-1"  # forwarded, scoped to the user


async def test_same_key_different_body_is_422(client: httpx.AsyncClient) -> None:
    _, headers = await register(client, "party_a")
    headers = {**headers, "Idempotency-Key": "dep-2"}
    await client.post("/v1/wallet/deposits", json=DEPOSIT, headers=headers)
    other = await client.post(
        "/v1/wallet/deposits", json={**DEPOSIT, "amount_minor": 1}, headers=headers
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


async def test_keys_are_per_user(client: httpx.AsyncClient, fakes: FakeServices) -> None:
    _, one = await register(client, "party_a")
    _, two = await register(client, "party_a")
    for headers in (one, two):
        response = await client.post(
            "/v1/wallet/deposits", json=DEPOSIT, headers={**headers, "Idempotency-Key": "same"}
        )
        assert response.status_code == 201
    assert fakes.paths().count("POST /deposits") == 2


async def test_concurrent_duplicates_have_one_effect(
    client: httpx.AsyncClient, fakes: FakeServices
) -> None:
    _, headers = await register(client, "party_a")
    headers = {**headers, "Idempotency-Key": "task-1"}
    fakes.gate = asyncio.Event()
    body = {
        "title": "T",
        "deadline": "2030-01-01T00:00:00Z",
        "commission_minor": 100,
        "currency": "CNY",
        "slots": 1,
    }
    first = asyncio.create_task(client.post("/v1/tasks", json=body, headers=headers))
    await asyncio.wait_for(fakes.started.wait(), timeout=10)
    duplicates = await asyncio.gather(
        *(client.post("/v1/tasks", json=body, headers=headers) for _ in range(100))
    )
    assert {d.status_code for d in duplicates} == {409}
    assert duplicates[0].json()["error"]["code"] == "request_in_progress"
    fakes.gate.set()
    created = await first
    assert created.status_code == 201
    replay = await client.post("/v1/tasks", json=body, headers=headers)
    assert replay.json() == created.json()
    assert fakes.paths().count("POST /tasks") == 1


async def test_money_operations_require_a_key(client: httpx.AsyncClient) -> None:
    _, headers = await register(client, "party_a")
    response = await client.post("/v1/wallet/deposits", json=DEPOSIT, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"


async def test_a_failed_upstream_call_does_not_burn_the_key(
    client: httpx.AsyncClient, fakes: FakeServices
) -> None:
    _, headers = await register(client, "party_a")
    headers = {**headers, "Idempotency-Key": "dep-3"}
    fakes.down = True
    assert (
        await client.post("/v1/wallet/deposits", json=DEPOSIT, headers=headers)
    ).status_code == 503
    fakes.down = False
    retry = await client.post("/v1/wallet/deposits", json=DEPOSIT, headers=headers)
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers
