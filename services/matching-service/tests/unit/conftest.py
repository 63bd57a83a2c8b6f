"""Fixtures for matching-service unit tests: the application on the in-memory (POPO) store."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from ring_matching.application import Providers

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def app() -> Providers:
    return Providers(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


@pytest.fixture
def provider() -> UUID:
    return uuid4()


@pytest.fixture
def admin() -> UUID:
    return uuid4()


@pytest.fixture
def owner() -> UUID:
    return uuid4()
