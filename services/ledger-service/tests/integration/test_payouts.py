"""Withdrawals are paid by a durable timer once they clear: once, across restarts, never
after a cancellation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from ring_ledger.main import create_app
from ring_ledger.payout_timers import PAYOUT
from ring_runtime.identity import PARTY_A, PARTY_B
from ring_runtime.settings import Settings
from ring_runtime.testing import actor_headers, eventually
from ring_runtime.timers import ManualClock

pytestmark = pytest.mark.integration


def _as(party: UUID, key: str | None = None, role: str = PARTY_B) -> dict[str, str]:
    headers = actor_headers(party, role)
    if key:
        headers["Idempotency-Key"] = key
    return headers


async def _withdraw(client: AsyncTestClient[Litestar], party: UUID, amount: int, key: str) -> str:
    answer = await client.post(
        "/withdrawals", json={"amount_minor": amount, "currency": "CNY"}, headers=_as(party, key)
    )
    assert answer.status_code == 201, answer.text
    withdrawal_id: str = answer.json()["id"]
    return withdrawal_id


async def test_cleared_withdrawals_are_paid_once_and_cancelled_ones_never(
    ledger_settings: Settings,
) -> None:
    clock = ManualClock(datetime.now(UTC))
    party = uuid4()
    async with AsyncTestClient(create_app(ledger_settings, clock=clock)) as client:
        deposit = await client.post(
            "/deposits",
            json={"amount_minor": 10_000, "currency": "CNY"},
            headers=_as(party, "d1", PARTY_A),
        )
        assert deposit.status_code == 201, deposit.text
        paid_id = await _withdraw(client, party, 3_000, "w1")
        cancelled_id = await _withdraw(client, party, 2_000, "w2")
        cancel = await client.post(f"/withdrawals/{cancelled_id}/cancel", headers=_as(party))
        assert cancel.status_code == 200, cancel.text

        payouts = client.app.state.payouts
        await asyncio.to_thread(payouts.follower.catch_up)
        assert payouts.timers.pending(PAYOUT, UUID(paid_id)) is not None
        assert payouts.timers.pending(PAYOUT, UUID(cancelled_id)) is None
        assert await asyncio.to_thread(payouts.timers.fire_due) == 0  # not cleared yet

        clock.advance(timedelta(hours=25))  # RING_WITHDRAWAL_CLEARANCE_HOURS defaults to 24

    # a restart between clearance and firing loses nothing and doubles nothing: the new
    # process's poller pays it, and nothing is left to fire afterwards
    async with AsyncTestClient(create_app(ledger_settings, clock=clock)) as client:
        payouts = client.app.state.payouts

        async def paid_status() -> str:
            answer = await client.get(f"/withdrawals/{paid_id}", headers=_as(party))
            status: str = answer.json()["status"]
            return status

        async def paid() -> bool:
            return await paid_status() == "paid"

        await eventually(paid, within=20)  # the payout timer fired
        assert await asyncio.to_thread(payouts.timers.fire_due) == 0
        assert payouts.timers.pending(PAYOUT, UUID(paid_id)) is None
        paid_one = (await client.get(f"/withdrawals/{paid_id}", headers=_as(party))).json()
        cancelled = (await client.get(f"/withdrawals/{cancelled_id}", headers=_as(party))).json()
        assert (paid_one["status"], cancelled["status"]) == ("paid", "cancelled")
        wallet = (
            await client.get(f"/wallets/{party}", params={"currency": "CNY"}, headers=_as(party))
        ).json()
        assert wallet["available_minor"] == 7_000
        assert wallet["reserved_minor"] == 0
