"""Fixtures for task-service integration tests: settings on a fresh schema, an app, helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Tracking

from ring_runtime.identity import PARTY_A
from ring_runtime.projection import ProjectionStore
from ring_runtime.settings import Settings
from ring_runtime.testing import actor_headers, settings_for
from ring_task.domain.providers import VERIFIED
from ring_task.providers import ProviderStandingProjection


@pytest.fixture
def task_settings(postgres_url: str, kafka_bootstrap: str, db_schema: str) -> Settings:
    """Settings of a task service on this test's schema, relaying quickly."""
    return settings_for(
        "task",
        postgres_url,
        kafka_bootstrap,
        db_schema,
        RING_RELAY_POLL_INTERVAL_MS="20",
        RING_RELAY_LOSS_CHECK_INTERVAL_MS="500",
    )


def new_task(**overrides: Any) -> dict[str, Any]:
    """A valid task draft as the API takes it."""
    body: dict[str, Any] = {
        "title": "Label 100 street images",
        "description": "Draw boxes around every car.",
        "deadline": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "commission_minor": 10_000,
        "currency": "CNY",
        "slots": 2,
        "required_skills": ["labeling"],
    }
    body.update(overrides)
    return body


def actor(user_id: UUID, role: str = PARTY_A) -> dict[str, str]:
    """Headers of a request made by ``user_id`` acting as ``role`` (the gateway's assertion)."""
    return actor_headers(user_id, role)


@pytest.fixture
def owner() -> UUID:
    """A Party A user id."""
    return uuid4()


@pytest.fixture
def verified_provider(task_settings: Settings) -> Iterator[Callable[[], UUID]]:
    """Make Party B user ids the task service knows as verified.

    Stands in for ``provider.verified.v1`` arriving from the matching service: the standing is
    written to the task service's own read model, as its matching consumer would.
    """
    store = ProjectionStore(task_settings.database_url, task_settings.db_schema, "providers")
    standings = ProviderStandingProjection(store)
    store.open(standings.ddl())

    def make() -> UUID:
        provider_id = uuid4()
        with store.unit_of_work(Tracking(f"test-seed|{provider_id}", 1)) as unit:
            standings.record_verification(unit, provider_id, VERIFIED)
        return provider_id

    yield make
    store.close()
