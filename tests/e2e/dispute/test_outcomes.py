"""Disputes end to end: ledger, task and dispute services in-process on one broker.

One task with four slots: three orders are disputed and resolved release / refund / split
(every balance checked after each), the fourth slot stays unused until the task's deadline
timer expires the task, which completes it and makes the ledger release the unused escrow.
``ledger check`` must be clean afterwards. It boots three services, so it lives with the
cross-service tests (docs/conventions.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from httpx import AsyncClient
from litestar.testing import AsyncTestClient
from psycopg import sql

from ring_dispute.config import DisputeConfig
from ring_dispute.main import DisputeParts
from ring_dispute.main import create_app as create_dispute_app
from ring_ledger.application import Ledger
from ring_ledger.domain import AccountKey, Purpose
from ring_ledger.main import create_app as create_ledger_app
from ring_runtime.blobs import FileSystemBlobStore
from ring_runtime.identity import ADMIN, PARTY_B
from ring_runtime.settings import Settings
from ring_runtime.testing import actor_headers, eventually
from ring_runtime.timers import ManualClock
from ring_task.main import create_app as create_task_app
from ring_task.timers import TaskTimers

pytestmark = pytest.mark.integration


COMMISSION = 10_001
FEE = (COMMISSION * 500 + 5_000) // 10_000  # 500: decision 0003, half up
SLOT = COMMISSION + FEE
SLOTS = 4
DEPOSIT = 50_000


@pytest.fixture
def dispute_settings(service_settings: Callable[..., Settings]) -> Settings:
    return service_settings("dispute")


@pytest.fixture
def blobs(tmp_path: Path) -> FileSystemBlobStore:
    """Evidence files of this test, in its own directory."""
    return FileSystemBlobStore(tmp_path / "blobs")


@dataclass
class Stack:
    ledger: AsyncClient
    tasks: AsyncClient
    disputes: AsyncClient
    task_clock: ManualClock
    task_timers: TaskTimers
    dispute_parts: DisputeParts
    task_settings: Settings


@pytest.fixture
async def stack(
    ledger_settings: Settings,
    task_settings: Settings,
    dispute_settings: Settings,
    blobs: FileSystemBlobStore,
) -> AsyncIterator[Stack]:
    task_clock = ManualClock(datetime.now(UTC))
    task_app = create_task_app(task_settings, clock=task_clock, timer_poll_interval=3600)
    dispute_app = create_dispute_app(
        dispute_settings,
        config=DisputeConfig(timer_poll_interval=3600),
        clock=ManualClock(datetime.now(UTC)),
        blobs=blobs,
    )
    async with (
        AsyncTestClient(create_ledger_app(ledger_settings)) as ledger,
        AsyncTestClient(task_app) as tasks,
        AsyncTestClient(dispute_app) as disputes,
    ):
        yield Stack(
            ledger,
            tasks,
            disputes,
            task_clock,
            task_app.state.task_timers,
            dispute_app.state.dispute_parts,
            task_settings,
        )


def _verify(settings: Settings, provider_id: UUID) -> None:
    """Stand-in for ``provider.verified.v1`` in the task service's standing read model."""
    table = sql.Identifier(settings.db_schema, "provider_standing")
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("INSERT INTO {} (provider_id, verification) VALUES (%s, 'verified')").format(
                table
            ),
            (provider_id,),
        )


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _wallet(stack: Stack, party: UUID) -> tuple[int, int]:
    body = await _ok(
        await stack.ledger.get(
            f"/wallets/{party}", params={"currency": "CNY"}, headers=actor_headers(party)
        )
    )
    return body["available_minor"], body["reserved_minor"]


def _fee_revenue(ledger: Ledger) -> int:
    account = ledger.get_account(AccountKey.platform(Purpose.FEE_REVENUE, "CNY"))
    return account.balance if account else 0


async def _order_status(stack: Stack, order_id: str, owner: UUID, wanted: str) -> bool:
    body = (await stack.tasks.get(f"/orders/{order_id}", headers=actor_headers(owner))).json()
    return bool(body["status"] == wanted)


async def _open(stack: Stack, order_id: str, who: UUID, directory_status: str) -> str:
    async def seen() -> bool:
        order = stack.dispute_parts.orders.get(UUID(order_id))
        return order is not None and order.status == directory_status

    await eventually(seen)
    body = await _ok(
        await stack.disputes.post(
            f"/orders/{order_id}/disputes",
            json={"category": "quality", "reason": "see the evidence"},
            headers=actor_headers(who),
        ),
        201,
    )
    return str(body["id"])


async def test_release_refund_split_then_deadline_releases_unused_escrow(
    stack: Stack, ledger: Ledger
) -> None:
    owner, admin, outsider = uuid4(), uuid4(), uuid4()
    providers = [uuid4() for _ in range(3)]
    for provider in providers:
        _verify(stack.task_settings, provider)
    await _ok(
        await stack.ledger.post(
            "/deposits",
            json={"amount_minor": DEPOSIT, "currency": "CNY"},
            headers={**actor_headers(owner), "Idempotency-Key": "seed-1"},
        ),
        201,
    )
    deadline = stack.task_clock.now() + timedelta(days=1)
    task = await _ok(
        await stack.tasks.post(
            "/tasks",
            json={
                "title": "Label images",
                "deadline": deadline.isoformat(),
                "commission_minor": COMMISSION,
                "currency": "CNY",
                "slots": SLOTS,
            },
            headers=actor_headers(owner),
        ),
        201,
    )
    task_id = task["id"]
    await _ok(
        await stack.tasks.post(f"/tasks/{task_id}/publish", headers=actor_headers(owner)), 202
    )

    async def published() -> bool:
        return bool(
            (
                await stack.tasks.get(f"/tasks/{task_id}", headers=actor_headers(uuid4(), ADMIN))
            ).json()["status"]
            == "published"
        )

    await eventually(published)
    assert await _wallet(stack, owner) == (DEPOSIT - SLOTS * SLOT, SLOTS * SLOT)

    orders = []
    for provider in providers:
        taken = await _ok(
            await stack.tasks.post(
                f"/tasks/{task_id}/orders", headers=actor_headers(provider, PARTY_B)
            ),
            201,
        )
        orders.append(taken["id"])
        await _ok(
            await stack.tasks.post(
                f"/orders/{taken['id']}/submission",
                json={},
                headers=actor_headers(provider, PARTY_B),
            )
        )
    for order_id in (orders[0], orders[2]):
        await _ok(
            await stack.tasks.post(
                f"/orders/{order_id}/rejection",
                json={"reason": "boxes missing"},
                headers=actor_headers(owner),
            )
        )

    release = await _open(stack, orders[0], providers[0], "rejected")
    refund = await _open(stack, orders[1], owner, "submitted")
    split = await _open(stack, orders[2], providers[2], "rejected")
    second = await stack.disputes.post(
        f"/orders/{orders[0]}/disputes", json={"reason": "me too"}, headers=actor_headers(owner)
    )
    assert (second.status_code, second.json()["error"]["code"]) == (409, "dispute_already_open")
    hidden = await stack.disputes.get(f"/disputes/{release}", headers=actor_headers(outsider))
    assert hidden.status_code == 404
    for order_id in orders:
        await eventually(partial(_order_status, stack, order_id, owner, "disputed"))
    case = await _ok(
        await stack.disputes.get(
            f"/admin/disputes/{release}", headers=actor_headers(uuid4(), ADMIN)
        )
    )
    assert [step["type"] for step in case["order_history"]][-2:] == [
        "order.submitted.v1",
        "order.rejected.v1",
    ]

    fee = _fee_revenue(ledger)
    escrow = SLOTS * SLOT
    available = DEPOSIT - escrow
    expected: list[tuple[str, dict[str, Any], int, int, int]] = [
        # dispute, resolution, B's pay, fee kept, refunded to A
        (release, {"outcome": "release"}, COMMISSION, FEE, 0),
        (refund, {"outcome": "refund"}, 0, 0, SLOT),
        (split, {"outcome": "split", "provider_share_percent": 33}, 3_300, 165, 7_036),
    ]
    for (dispute_id, resolution, paid, kept, refunded), order_id, provider in zip(
        expected, orders, providers, strict=True
    ):
        await _ok(
            await stack.disputes.post(
                f"/admin/disputes/{dispute_id}/resolve",
                json=resolution,
                headers=actor_headers(admin, ADMIN),
            )
        )
        final = "refunded" if resolution["outcome"] == "refund" else "settled"
        await eventually(partial(_order_status, stack, order_id, owner, final))
        assert paid + kept + refunded == SLOT
        escrow -= SLOT
        available += refunded
        fee += kept
        assert await _wallet(stack, provider) == (paid, 0)
        assert await _wallet(stack, owner) == (available, escrow)
        assert _fee_revenue(ledger) == fee
        assert ledger.check() == []
    assert (available, escrow, fee) == (25_533, SLOT, 665)

    # The deadline: no new orders, the task expires and (nothing open) completes; the ledger
    # releases the one unused slot.
    stack.task_clock.advance(timedelta(days=1, seconds=1))
    stack.task_timers.follower.catch_up()
    assert stack.task_timers.timers.fire_due() >= 1

    async def completed() -> bool:
        return bool(
            (
                await stack.tasks.get(f"/tasks/{task_id}", headers=actor_headers(uuid4(), ADMIN))
            ).json()["status"]
            == "completed"
        )

    await eventually(completed)

    async def released() -> bool:
        return await _wallet(stack, owner) == (available + SLOT, 0)

    await eventually(released)
    total = sum([(await _wallet(stack, p))[0] for p in (owner, *providers)]) + _fee_revenue(ledger)
    assert total == DEPOSIT


async def test_cancellation_cancels_unsubmitted_orders_and_refunds_exactly_the_unused_escrow(
    stack: Stack, ledger: Ledger
) -> None:
    owner = uuid4()
    accepted, working, handed_in = uuid4(), uuid4(), uuid4()
    for provider in (accepted, working, handed_in):
        _verify(stack.task_settings, provider)
    await _ok(
        await stack.ledger.post(
            "/deposits",
            json={"amount_minor": DEPOSIT, "currency": "CNY"},
            headers={**actor_headers(owner), "Idempotency-Key": "seed-2"},
        ),
        201,
    )
    deadline = datetime.now(UTC) + timedelta(days=3)
    task = await _ok(
        await stack.tasks.post(
            "/tasks",
            json={
                "title": "Transcribe audio",
                "deadline": deadline.isoformat(),
                "commission_minor": COMMISSION,
                "currency": "CNY",
                "slots": SLOTS,
            },
            headers=actor_headers(owner),
        ),
        201,
    )
    task_id = task["id"]
    await _ok(
        await stack.tasks.post(f"/tasks/{task_id}/publish", headers=actor_headers(owner)), 202
    )

    async def published() -> bool:
        return bool(
            (
                await stack.tasks.get(f"/tasks/{task_id}", headers=actor_headers(uuid4(), ADMIN))
            ).json()["status"]
            == "published"
        )

    await eventually(published)
    order_ids = {}
    for provider in (accepted, working, handed_in):
        taken = await _ok(
            await stack.tasks.post(
                f"/tasks/{task_id}/orders", headers=actor_headers(provider, PARTY_B)
            ),
            201,
        )
        order_ids[provider] = taken["id"]
    await _ok(
        await stack.tasks.post(
            f"/orders/{order_ids[working]}/progress",
            json={"percent": 40},
            headers=actor_headers(working, PARTY_B),
        )
    )
    await _ok(
        await stack.tasks.post(
            f"/orders/{order_ids[handed_in]}/submission",
            json={},
            headers=actor_headers(handed_in, PARTY_B),
        )
    )

    refused = await stack.tasks.post(f"/tasks/{task_id}/cancel", headers=actor_headers(owner))
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "submitted_work_pending"
    assert [o["id"] for o in error["details"]["orders"]] == [order_ids[handed_in]]
    assert (
        await stack.tasks.post(f"/tasks/{task_id}/cancel", headers=actor_headers(uuid4()))
    ).status_code == 403

    await _ok(
        await stack.tasks.post(
            f"/orders/{order_ids[handed_in]}/approval", headers=actor_headers(owner)
        )
    )
    await eventually(lambda: _order_status(stack, order_ids[handed_in], owner, "settled"))
    cancelled = await _ok(
        await stack.tasks.post(f"/tasks/{task_id}/cancel", headers=actor_headers(owner))
    )
    assert (cancelled["status"], cancelled["cancelled_orders"]) == ("cancelled", 2)
    for provider in (accepted, working):
        assert await _order_status(stack, order_ids[provider], owner, "cancelled")

    async def refunded() -> bool:
        return await _wallet(stack, owner) == (DEPOSIT - SLOT, 0)

    await eventually(refunded)  # 3 unused slots x (commission + fee) back, nothing else
    assert await _wallet(stack, handed_in) == (COMMISSION, 0)
    assert await _wallet(stack, accepted) == (0, 0)
    assert _fee_revenue(ledger) == FEE
