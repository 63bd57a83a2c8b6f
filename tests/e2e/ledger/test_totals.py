"""``GET /internal/totals``: the platform's money per currency, from the ledger's accounts, after
a deposit, a funded task, a settlement and a payout request (real PostgreSQL and broker)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import pytest
from httpx import AsyncClient

from ring_runtime.identity import ADMIN, PARTY_B
from ring_runtime.testing import eventually

from .conftest import actor, approved_order, create_and_publish, deposit, task_status, wallet

pytestmark = pytest.mark.integration

COMMISSION, FEE = 10_000, 500


async def _totals(ledger: AsyncClient) -> list[dict[str, Any]]:
    response = await ledger.get("/internal/totals", headers=actor(uuid4(), ADMIN))
    assert response.status_code == 200, response.text
    currencies: list[dict[str, Any]] = response.json()["currencies"]
    return currencies


async def test_totals_follow_deposits_escrow_settlement_and_payouts(
    services: tuple[AsyncClient, AsyncClient], verify_provider: Callable[[UUID], None]
) -> None:
    ledger, tasks = services
    assert await _totals(ledger) == []
    owner, provider = uuid4(), uuid4()
    verify_provider(provider)
    await deposit(ledger, owner, 40_000)
    task_id = await create_and_publish(tasks, owner, slots=2)
    await eventually(lambda: task_status(tasks, task_id, "published"))
    assert await _totals(ledger) == [
        {
            "currency": "CNY",
            "fee_revenue_minor": 0,
            "escrow_held_minor": 2 * (COMMISSION + FEE),
            "wallets_held_minor": 40_000 - 2 * (COMMISSION + FEE),
            "deposits_minor": 40_000,
            "payouts_paid_minor": 0,
            "payouts_pending_minor": 0,
        }
    ]

    await approved_order(tasks, task_id, owner, provider)

    async def paid_to_provider() -> bool:
        return bool(await wallet(ledger, provider) == (COMMISSION, 0))

    await eventually(paid_to_provider)
    payout = await ledger.post(
        "/withdrawals",
        json={"amount_minor": 4_000, "currency": "CNY"},
        headers={**actor(provider, PARTY_B), "Idempotency-Key": "totals-payout"},
    )
    assert payout.status_code == 201, payout.text
    assert await _totals(ledger) == [
        {
            "currency": "CNY",
            "fee_revenue_minor": FEE,
            "escrow_held_minor": COMMISSION + FEE,
            "wallets_held_minor": 40_000 - 2 * (COMMISSION + FEE) + COMMISSION,
            "deposits_minor": 40_000,
            "payouts_paid_minor": 0,
            "payouts_pending_minor": 4_000,
        }
    ]
