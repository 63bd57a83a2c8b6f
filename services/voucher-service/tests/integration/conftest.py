"""Fixtures for voucher-service integration tests: settings, config, seeded orders, helpers."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer
from PIL import Image, ImageDraw
from psycopg import sql

from ring_events.headers import AGGREGATE_ID
from ring_events.topics import VOUCHER_EVENTS
from ring_runtime.identity import PARTY_A
from ring_runtime.settings import Settings
from ring_runtime.testing import actor_headers, eventually, settings_for
from ring_runtime.timers import ManualClock
from ring_voucher.config import VoucherConfig

#: The largest file the tests' configuration accepts.
MAX_FILE_BYTES = 64 * 1024


@pytest.fixture
def voucher_settings(postgres_url: str, kafka_bootstrap: str, db_schema: str) -> Settings:
    """Settings of a voucher service on this test's schema, relaying quickly."""
    return settings_for(
        "voucher",
        postgres_url,
        kafka_bootstrap,
        db_schema,
        RING_RELAY_POLL_INTERVAL_MS="20",
        RING_RELAY_LOSS_CHECK_INTERVAL_MS="500",
    )


@pytest.fixture
def blob_dir(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture
def config(blob_dir: Path) -> VoucherConfig:
    """Small limits; timers are fired by the tests (the poller waits an hour)."""
    return VoucherConfig(
        blob_dir=str(blob_dir), max_file_bytes=MAX_FILE_BYTES, max_files=3, timer_poll_interval=3600
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


def seed_order(settings: Settings, owner: UUID, provider: UUID, status: str = "accepted") -> UUID:
    """Put an order into the service's order directory, as ``ring.task.events`` would."""
    order_id = uuid4()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("INSERT INTO {}.order_directory VALUES (%s, %s, %s, %s, %s)").format(
                sql.Identifier(settings.db_schema)
            ),
            (order_id, uuid4(), owner, provider, status),
        )
    return order_id


def stored_blobs(blob_dir: Path) -> list[Path]:
    """Every file under the blob directory (none when it was never created)."""
    return [p for p in blob_dir.rglob("*") if p.is_file()] if blob_dir.exists() else []


def count_rows(settings: Settings, table: str) -> int:
    """Rows of ``table`` in the service schema."""
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(settings.db_schema), sql.Identifier(table)
            )
        ).fetchone()
    return int(row[0]) if row else 0


def picture(seed: int, size: tuple[int, int] = (320, 240), fmt: str = "PNG") -> bytes:
    """A picture of random coloured rectangles, the same for the same seed."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        x1, y1 = x0 + rng.randrange(20, 160), y0 + rng.randrange(20, 120)
        draw.rectangle((x0, y0, x1, y1), fill=(rng.randrange(256), 90, rng.randrange(256)))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def resized_jpeg(data: bytes, size: tuple[int, int]) -> bytes:
    """``data`` decoded, resized to ``size`` and re-encoded as JPEG."""
    with Image.open(io.BytesIO(data)) as image:
        out = io.BytesIO()
        image.convert("RGB").resize(size).save(out, format="JPEG", quality=80)
    return out.getvalue()


def actor(user_id: UUID, role: str = PARTY_A) -> dict[str, str]:
    """Headers of a request made by ``user_id`` acting as ``role`` (the gateway's assertion)."""
    return actor_headers(user_id, role)


async def voucher_records(bootstrap: str, voucher_id: str, expected: int) -> list[Any]:
    """At least ``expected`` records of voucher ``voucher_id`` on ``ring.voucher.events`` (the
    Kafka key is the order id; the voucher id is the ``aggregate_id`` header)."""
    consumer = AIOKafkaConsumer(
        VOUCHER_EVENTS, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[Any] = []
    try:

        async def read() -> bool:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                found.extend(
                    r for r in records if dict(r.headers).get(AGGREGATE_ID) == voucher_id.encode()
                )
            return len(found) >= expected

        await eventually(read)
        await read()  # one more round: anything extra would show up here
    finally:
        await consumer.stop()
    return found
