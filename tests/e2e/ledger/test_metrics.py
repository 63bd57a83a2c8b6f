"""The ledger's gauges on ``GET /metrics``: open sagas by state and age, money totals."""

from __future__ import annotations

from uuid import uuid4

import pytest
from httpx import AsyncClient
from prometheus_client.parser import text_string_to_metric_families

from ring_runtime.testing import eventually

from .conftest import create_and_publish, deposit, task_status

pytestmark = pytest.mark.integration

SLOT = 10_500  # 10 000 commission + 5 % fee


async def samples(client: AsyncClient) -> dict[str, list[tuple[dict[str, str], float]]]:
    answer = await client.get("/metrics")
    assert answer.status_code == 200, answer.text
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


async def test_a_funded_task_shows_as_an_open_reserved_saga_and_escrowed_money(
    services: tuple[AsyncClient, AsyncClient],
) -> None:
    ledger, tasks = services
    owner = uuid4()
    await deposit(ledger, owner, 25_000)
    funded = await create_and_publish(tasks, owner, slots=1)
    task = await eventually(lambda: task_status(tasks, funded, "published", "funding_failed"))
    assert task["status"] == "published"

    found = await samples(ledger)
    open_sagas = {labels["state"]: value for labels, value in found["ring_sagas_open"]}
    assert open_sagas == {"reserved": 1}
    ages = {labels["state"]: value for labels, value in found["ring_sagas_oldest_age_seconds"]}
    assert 0 <= ages["reserved"] < 120
    totals = {
        (labels["currency"], labels["purpose"]): value
        for labels, value in found["ring_ledger_total"]
    }
    assert totals[("CNY", "escrow_held_minor")] == SLOT
    assert totals[("CNY", "wallets_held_minor")] == 25_000 - SLOT
    ledger_relay = [
        v for labels, v in found["ring_relay_lag"] if labels["topic"] == "ring.ledger.events"
    ]
    assert ledger_relay, found["ring_relay_lag"]
    applied = {labels["consumer"] for labels, _ in found["ring_consumer_applied_total"]}
    assert applied, "the ledger's saga consumer applied the publish request"
