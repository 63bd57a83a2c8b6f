"""Auto-approval is durable: scheduled by one process, fired once by the next one."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from ring_runtime.identity import PARTY_B
from ring_runtime.settings import Settings
from ring_runtime.timers import ManualClock
from ring_voucher.config import VoucherConfig
from ring_voucher.consumers import AUTO_APPROVE
from ring_voucher.main import VoucherParts, create_app

from .conftest import actor, count_rows, seed_order, voucher_records

pytestmark = pytest.mark.integration


async def test_auto_approval_fires_once_across_a_restart(
    voucher_settings: Settings, config: VoucherConfig, clock: ManualClock
) -> None:
    owner, provider = uuid4(), uuid4()
    first_app = create_app(voucher_settings, config=config, clock=clock)
    order_id = seed_order(voucher_settings, owner, provider)
    async with AsyncTestClient(first_app) as client:
        created = await client.post(
            f"/orders/{order_id}/vouchers",
            files=[("files", ("r.pdf", b"%PDF-1.7 signed report", "application/pdf"))],
            headers=actor(provider, PARTY_B),
        )
        assert created.status_code == 201, created.text
        voucher_id = UUID(created.json()["id"])
        parts: VoucherParts = first_app.state.voucher_parts
        due = parts.timers.pending(AUTO_APPROVE, voucher_id)
        assert due == clock.now() + timedelta(hours=72)
        clock.advance(timedelta(hours=71))
        assert parts.timers.fire_due() == 0

    second_app = create_app(voucher_settings, config=config, clock=clock)
    async with AsyncTestClient(second_app) as client:
        parts = second_app.state.voucher_parts
        assert parts.timers.pending(AUTO_APPROVE, voucher_id) == due, "the restart lost the timer"
        clock.advance(timedelta(hours=1))
        assert parts.timers.fire_due() == 1
        assert parts.timers.fire_due() == 0
        view = (await client.get(f"/vouchers/{voucher_id}", headers=actor(owner))).json()
        assert view["status"] == "approved"
        assert view["approved_automatically"] is True
        records = await voucher_records(voucher_settings.kafka_bootstrap, str(voucher_id), 2)

    types = [msgspec.json.decode(r.value)["type"] for r in records]
    assert types == ["voucher.submitted.v1", "voucher.approved.v1"]
    # Keyed by the order: every voucher of an order shares a partition, in order.
    assert {r.key for r in records} == {str(order_id).encode()}
    assert len({r.partition for r in records}) == 1
    assert msgspec.json.decode(records[1].value)["automatic"] is True
    assert count_rows(voucher_settings, "timers") == 1


async def test_a_decision_cancels_the_timer(
    voucher_settings: Settings, config: VoucherConfig, clock: ManualClock
) -> None:
    owner, provider = uuid4(), uuid4()
    app = create_app(voucher_settings, config=config, clock=clock)
    order_id = seed_order(voucher_settings, owner, provider)
    async with AsyncTestClient(app) as client:
        created = await client.post(
            f"/orders/{order_id}/vouchers",
            files=[("files", ("r.pdf", b"%PDF-1.7 another report", "application/pdf"))],
            headers=actor(provider, PARTY_B),
        )
        voucher_id = UUID(created.json()["id"])
        approved = await client.post(f"/vouchers/{voucher_id}/approve", headers=actor(owner))
        assert approved.status_code == 200, approved.text
        parts: VoucherParts = app.state.voucher_parts
        assert parts.timers.pending(AUTO_APPROVE, voucher_id) is None
        clock.advance(timedelta(days=30))
        assert parts.timers.fire_due() == 0
        again = await client.post(f"/vouchers/{voucher_id}/approve", headers=actor(owner))
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "already_decided"
