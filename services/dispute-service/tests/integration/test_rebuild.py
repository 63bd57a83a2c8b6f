"""``ring projections rebuild dispute queue --verify``: the admin queue, kept from the
dispute store by a follower that also schedules escalation timers, rebuilds identical from the
log (the timers go to the scratch schema); a row edited in the live table is reported."""

from __future__ import annotations

from uuid import uuid4

import psycopg
import pytest
from litestar.testing import AsyncTestClient
from psycopg.sql import SQL, Identifier

from ring_dispute.config import DisputeConfig
from ring_dispute.main import create_app, queue_in
from ring_runtime.blobs import FileSystemBlobStore
from ring_runtime.rebuild import rebuild_and_compare
from ring_runtime.settings import Settings
from ring_runtime.timers import ManualClock

from .conftest import actor, seed_order

pytestmark = pytest.mark.integration


async def test_the_dispute_queue_rebuilds_identical_and_an_edited_row_shows(
    dispute_settings: Settings,
    config: DisputeConfig,
    clock: ManualClock,
    blobs: FileSystemBlobStore,
) -> None:
    owner, provider = uuid4(), uuid4()
    app = create_app(dispute_settings, config=config, clock=clock, blobs=blobs)
    async with AsyncTestClient(app) as client:
        for _ in range(3):
            order_id = seed_order(dispute_settings, owner, provider, status="rejected")
            created = await client.post(
                f"/orders/{order_id}/disputes",
                json={"category": "quality", "reason": "The photos show the wrong shop."},
                headers=actor(owner),
            )
            assert created.status_code == 201, created.text
        disputed = created.json()["id"]
        withdrawn = await client.post(f"/disputes/{disputed}/withdraw", headers=actor(owner))
        assert withdrawn.status_code == 200, withdrawn.text

    clean = rebuild_and_compare("queue", queue_in, dispute_settings)
    assert clean.differences == []
    assert clean.rows == {"dispute_queue": 3}
    with psycopg.connect(dispute_settings.database_url, autocommit=True) as conn:
        conn.execute(
            SQL("UPDATE {} SET status = 'open' WHERE id = %s").format(
                Identifier(dispute_settings.db_schema, "dispute_queue")
            ),
            (disputed,),
        )
    [difference] = rebuild_and_compare("queue", queue_in, dispute_settings).differences
    assert (difference.only_live, difference.only_rebuilt) == (1, 1)
    assert difference.live_rows[0]["status"] == "open"
    assert difference.rebuilt_rows[0]["status"] == "withdrawn"
