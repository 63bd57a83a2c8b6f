"""Integration-tier fixtures: the gateway's own stores on real PostgreSQL.

Tests of the gateway in front of running task and ledger services boot other services, so they
live in ``tests/e2e/gateway``.
"""

from __future__ import annotations

import pytest

from ring_runtime.settings import Settings
from ring_runtime.testing import settings_for


@pytest.fixture
def gateway_settings(postgres_url: str, kafka_bootstrap: str, db_schema: str) -> Settings:
    return settings_for("gateway", postgres_url, kafka_bootstrap, db_schema)
