"""No approval under an open dispute: automatic one deferred (dropped once resolved), manual
one refused."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import psycopg
import pytest
from litestar.testing import AsyncTestClient
from psycopg import sql

from ring_runtime.identity import PARTY_B
from ring_runtime.settings import Settings
from ring_runtime.timers import ManualClock
from ring_voucher.config import VoucherConfig
from ring_voucher.main import VoucherParts, create_app

from .conftest import actor, seed_order

pytestmark = pytest.mark.integration


def _dispute(settings: Settings, order_id: UUID, state: str) -> None:
    """Record the order's dispute state, as ``ring.dispute.events`` would."""
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "INSERT INTO {}.order_disputes VALUES (%s, %s, %s) "
                "ON CONFLICT (order_id) DO UPDATE SET state = EXCLUDED.state"
            ).format(sql.Identifier(settings.db_schema)),
            (order_id, uuid4(), state),
        )


def _last_error(settings: Settings) -> list[str | None]:
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT last_error FROM {}.timers ORDER BY scheduled_at").format(
                sql.Identifier(settings.db_schema)
            )
        ).fetchall()
    return [row[0] for row in rows]


async def test_open_dispute_defers_and_resolution_drops_auto_approval(
    voucher_settings: Settings, config: VoucherConfig, clock: ManualClock
) -> None:
    owner, provider = uuid4(), uuid4()
    app = create_app(voucher_settings, config=config, clock=clock)
    disputed, decided = (seed_order(voucher_settings, owner, provider) for _ in range(2))
    async with AsyncTestClient(app) as client:
        vouchers = {}
        for order_id, content in ((disputed, b"one"), (decided, b"two")):
            created = await client.post(
                f"/orders/{order_id}/vouchers",
                files=[("files", ("r.pdf", b"%PDF-1.7 report " + content, "application/pdf"))],
                headers=actor(provider, PARTY_B),
            )
            assert created.status_code == 201, created.text
            vouchers[order_id] = UUID(created.json()["id"])
        _dispute(voucher_settings, disputed, "open")
        _dispute(voucher_settings, decided, "resolved")
        parts: VoucherParts = app.state.voucher_parts

        clock.advance(timedelta(hours=72))
        assert parts.timers.fire_due() == 1  # the resolved one ends without approving
        assert "open dispute" in str(_last_error(voucher_settings))

        async def status(order_id: UUID) -> str:
            view = await client.get(f"/vouchers/{vouchers[order_id]}", headers=actor(owner))
            return str(view.json()["status"])

        assert (await status(disputed), await status(decided)) == ("submitted", "submitted")
        clock.advance(timedelta(hours=1))
        assert parts.timers.fire_due() == 0  # still open: deferred again
        manual = await client.post(f"/vouchers/{vouchers[disputed]}/approve", headers=actor(owner))
        assert (manual.status_code, manual.json()["error"]["code"]) == (409, "order_under_dispute")
        stranger = await client.post(
            f"/vouchers/{vouchers[disputed]}/approve", headers=actor(uuid4())
        )
        assert stranger.status_code == 403
        _dispute(voucher_settings, disputed, "withdrawn")
        clock.advance(timedelta(hours=1))
        assert parts.timers.fire_due() == 1
        assert (await status(disputed), await status(decided)) == ("approved", "submitted")
