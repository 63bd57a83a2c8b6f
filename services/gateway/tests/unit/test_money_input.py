"""Money enters as JSON integers of minor units in a supported ISO 4217 currency (issue 11)."""

from __future__ import annotations

import httpx
import pytest

from .conftest import FakeServices, register

TASK = {
    "title": "Label images",
    "deadline": "2099-01-01T00:00:00Z",
    "commission_minor": 10_000,
    "currency": "CNY",
    "slots": 1,
}


@pytest.mark.parametrize("amount", ['"100"', "1000.0", "1e3", "true"])
async def test_an_amount_that_is_not_a_json_integer_is_a_400(
    client: httpx.AsyncClient, fakes: FakeServices, amount: str
) -> None:
    _, headers = await register(client, "party_a")
    answer = await client.post(
        "/v1/wallet/deposits",
        content=f'{{"amount_minor": {amount}, "currency": "CNY"}}',
        headers={**headers, "Idempotency-Key": "k1", "content-type": "application/json"},
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "validation_failed"
    assert "POST /deposits" not in fakes.paths()


async def test_a_commission_that_is_not_a_json_integer_is_a_400(
    client: httpx.AsyncClient, fakes: FakeServices
) -> None:
    _, headers = await register(client, "party_a")
    answer = await client.post(
        "/v1/tasks", json={**TASK, "commission_minor": 10_000.0}, headers=headers
    )
    assert answer.status_code == 400, answer.text
    assert "POST /tasks" not in fakes.paths()


@pytest.mark.parametrize("currency", ["XXX", "XAU", "ABC"])
async def test_money_in_an_unsupported_currency_is_a_422(
    client: httpx.AsyncClient, fakes: FakeServices, currency: str
) -> None:
    _, a = await register(client, "party_a")
    _, b = await register(client, "party_b")
    answers = [
        await client.post(
            "/v1/wallet/deposits",
            json={"amount_minor": 100, "currency": currency},
            headers={**a, "Idempotency-Key": "k2"},
        ),
        await client.post(
            "/v1/wallet/withdrawals",
            json={"amount_minor": 100, "currency": currency},
            headers={**b, "Idempotency-Key": "k3"},
        ),
        await client.post("/v1/tasks", json={**TASK, "currency": currency}, headers=a),
    ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "unsupported_currency"
    assert not {"POST /deposits", "POST /withdrawals", "POST /tasks"} & set(fakes.paths())
