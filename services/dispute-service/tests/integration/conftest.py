"""Fixtures for dispute-service integration tests: settings, clock, seeded orders, helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql

from ring_dispute.config import DisputeConfig
from ring_runtime.blobs import FileSystemBlobStore
from ring_runtime.identity import PARTY_A
from ring_runtime.settings import Settings
from ring_runtime.testing import FAST_RELAY, actor_headers, settings_for
from ring_runtime.timers import ManualClock


@pytest.fixture
def dispute_settings(postgres_url: str, kafka_bootstrap: str, db_schema: str) -> Settings:
    """Settings of a dispute service on this test's schema, relaying quickly."""
    return settings_for("dispute", postgres_url, kafka_bootstrap, db_schema, **FAST_RELAY)


@pytest.fixture
def blobs(tmp_path: Path) -> FileSystemBlobStore:
    """Evidence files of this test, in its own directory."""
    return FileSystemBlobStore(tmp_path / "blobs")


@pytest.fixture
def config() -> DisputeConfig:
    """Default SLA (5 days to respond, 3 to arbitrate); timers are fired by the tests."""
    return DisputeConfig(
        response_window=timedelta(days=5),
        arbitration_window=timedelta(days=3),
        timer_poll_interval=3600,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


def seed_order(settings: Settings, owner: UUID, provider: UUID, status: str = "submitted") -> UUID:
    """Put an order into the dispute service's directory, as ``ring.task.events`` would."""
    order_id = uuid4()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "INSERT INTO {}.dispute_orders (order_id, task_id, owner_id, provider_id, status) "
                "VALUES (%s, %s, %s, %s, %s)"
            ).format(sql.Identifier(settings.db_schema)),
            (order_id, uuid4(), owner, provider, status),
        )
    return order_id


def actor(user_id: UUID, role: str = PARTY_A) -> dict[str, str]:
    """Headers of a request made by ``user_id`` acting as ``role`` (the gateway's assertion)."""
    return actor_headers(user_id, role)
