"""Across services: a voucher handed in and approved moves the task-service order along.

Both services run in-process on their own schemas and share the broker; the only link between
them is ``ring.task.events`` → voucher-service and ``ring.voucher.events`` → task-service. It
boots two services, so it lives with the cross-service tests (docs/conventions.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from litestar.testing import AsyncTestClient
from psycopg import sql

from ring_runtime.identity import PARTY_B
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.testing import actor_headers, eventually
from ring_runtime.timers import ManualClock
from ring_task.application import Tasks
from ring_task.main import create_app as create_task_app
from ring_voucher.config import VoucherConfig
from ring_voucher.main import create_app as create_voucher_app

pytestmark = [pytest.mark.integration, pytest.mark.kafka_lane]


@pytest.fixture
def voucher_settings(service_settings: Callable[..., Settings]) -> Settings:
    return service_settings("voucher")


@pytest.fixture
def config(tmp_path: Path) -> VoucherConfig:
    """Timers are fired by the tests (the poller waits an hour)."""
    return VoucherConfig(
        blob_dir=str(tmp_path / "blobs"),
        max_file_bytes=64 * 1024,
        max_files=3,
        timer_poll_interval=3600,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def task_settings(service_settings: Callable[..., Settings]) -> Settings:
    """A task service on a schema of its own. Voucher events of other tests' orders are
    unknown here; one attempt parks them at once instead of retrying."""
    return service_settings("task", RING_CONSUMER_MAX_ATTEMPTS="1")


def _taken_order(tasks: Tasks, owner: UUID, provider: UUID, title: str) -> UUID:
    """A funded one-slot task of ``owner`` and the order ``provider`` took on it."""
    task_id = tasks.create_task(
        owner,
        title=title,
        deadline=datetime.now(UTC) + timedelta(days=7),
        commission_minor=20_000,
        currency="CNY",
        slots=1,
    )
    tasks.publish(task_id, owner)
    tasks.mark_funded(task_id)
    order_id: UUID = tasks.take_order(task_id, provider).id
    return order_id


async def _known_to_vouchers(client: AsyncTestClient[Any], order_id: UUID, provider: UUID) -> None:
    """Wait until the voucher service's order directory has the order."""

    async def known() -> bool:
        found = await client.get(
            f"/orders/{order_id}/vouchers", headers=actor_headers(provider, PARTY_B)
        )
        return found.status_code == 200

    await eventually(known)


async def test_an_approved_voucher_approves_the_order(
    task_settings: Settings, voucher_settings: Settings, config: VoucherConfig, clock: ManualClock
) -> None:
    owner, provider = uuid4(), uuid4()
    task_app = create_task_app(task_settings)
    tasks = create_application(Tasks, task_settings)
    order_id = _taken_order(tasks, owner, provider, "Photograph the finished shelves")

    voucher_app = create_voucher_app(voucher_settings, config=config, clock=clock)
    async with AsyncTestClient(task_app) as task_client, AsyncTestClient(voucher_app) as client:
        await _known_to_vouchers(client, order_id, provider)
        created = await client.post(
            f"/orders/{order_id}/vouchers",
            files=[("files", ("shelves.pdf", b"%PDF-1.7 shelves", "application/pdf"))],
            data={"note": "all shelves mounted"},
            headers=actor_headers(provider, PARTY_B),
        )
        assert created.status_code == 201, created.text

        async def order_status(expected: str) -> bool:
            found = await task_client.get(f"/orders/{order_id}", headers=actor_headers(owner))
            return bool(found.json()["status"] == expected)

        await eventually(lambda: order_status("submitted"))
        voucher_id = created.json()["id"]
        approved = await client.post(
            f"/vouchers/{voucher_id}/approve", headers=actor_headers(owner)
        )
        assert approved.status_code == 200, approved.text
        await eventually(lambda: order_status("approved"))
        order = tasks.get_order(order_id)
        assert str(order.voucher_id) == voucher_id
    tasks.close()
    # One task lifecycle, one correlation id: the task's and order's events in the task
    # service, the voucher's and its trail's in the voucher service (decision 0016).
    recorded = _correlations(task_settings, "tasks") | _correlations(voucher_settings, "vouchers")
    assert len(recorded) == 1, recorded


def _correlations(settings: Settings, application: str) -> set[str]:
    """Every correlation id ``application``'s events were recorded under."""
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        rows = conn.execute(
            sql.SQL("SELECT DISTINCT correlation_id FROM {}.{}").format(
                sql.Identifier(settings.db_schema), sql.Identifier(f"{application}_event_context")
            )
        ).fetchall()
    return {row[0] for row in rows}


async def test_a_quick_resubmission_follows_its_rejection_in_order(
    task_settings: Settings, voucher_settings: Settings, config: VoucherConfig, clock: ManualClock
) -> None:
    """Reject, resubmit and approve at once, without waiting for the task service: the two
    vouchers are two aggregates, and only because their events share the order's partition
    does the task service see the rejection before the resubmission."""
    owner, provider = uuid4(), uuid4()
    task_app = create_task_app(task_settings)
    tasks = create_application(Tasks, task_settings)
    order_id = _taken_order(tasks, owner, provider, "Count the stock in aisle 4")

    voucher_app = create_voucher_app(voucher_settings, config=config, clock=clock)
    async with AsyncTestClient(task_app) as task_client, AsyncTestClient(voucher_app) as client:
        await _known_to_vouchers(client, order_id, provider)
        handed_in = []
        for attempt in range(2):
            created = await client.post(
                f"/orders/{order_id}/vouchers",
                files=[("files", ("count.pdf", b"%PDF-1.7 count " + bytes([attempt]), "x/y"))],
                headers=actor_headers(provider, PARTY_B),
            )
            assert created.status_code == 201, created.text
            handed_in.append(created.json()["id"])
            decision = "reject" if attempt == 0 else "approve"
            body: dict[str, Any] = {"json": {"reason": "aisle 5 counted"}} if attempt == 0 else {}
            decided = await client.post(
                f"/vouchers/{handed_in[-1]}/{decision}", headers=actor_headers(owner), **body
            )
            assert decided.status_code == 200, decided.text

        async def history() -> list[str] | None:
            found = (
                await task_client.get(f"/orders/{order_id}", headers=actor_headers(owner))
            ).json()
            steps = [step["status"] for step in found["history"]]
            return steps if found["status"] == "approved" else None

        steps = await eventually(history)
        assert [s for s in steps if s in ("submitted", "rejected", "approved")] == [
            "submitted",
            "rejected",
            "submitted",
            "approved",
        ]
        assert str(tasks.get_order(order_id).voucher_id) == handed_in[1]
        parked = task_app.state.runtime.dead_letters.list()
        assert not [d for d in parked if d.key == str(order_id)], parked
    tasks.close()
