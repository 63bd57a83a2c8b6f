"""Fixtures for the ledger's own integration tests: the ledger alone on this test's schema.

Tests that drive the ledger through the task service (funding, settlement, totals, metrics,
tracing) boot a second service, so they live in ``tests/e2e/ledger`` (docs/conventions.md).
After every test the ledger is audited: :meth:`Ledger.check` must find no violation.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ring_ledger.application import Ledger
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.testing import FAST_RELAY, settings_for


@pytest.fixture
def ledger_settings(postgres_url: str, kafka_bootstrap: str, db_schema: str) -> Settings:
    """Settings of a ledger service on this test's schema, relaying quickly."""
    return settings_for("ledger", postgres_url, kafka_bootstrap, db_schema, **FAST_RELAY)


@pytest.fixture(autouse=True)
def ledger_check(ledger_settings: Settings) -> Iterator[None]:
    """After the test, ``ledger check`` must pass on what the test left behind."""
    yield
    ledger = create_application(Ledger, ledger_settings)
    try:
        assert ledger.check() == [], "ledger check found violations after the test"
    finally:
        ledger.close()
