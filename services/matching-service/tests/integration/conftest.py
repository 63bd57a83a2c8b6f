"""Fixtures for matching-service integration tests: the matching service on its own schema.

Tests that also boot the task service live in ``tests/e2e/matching``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient

from ring_matching.main import create_app as create_matching_app
from ring_runtime.identity import PARTY_A, PARTY_B
from ring_runtime.settings import Settings
from ring_runtime.testing import FAST_RELAY, actor_headers, settings_for


@pytest.fixture
def matching_settings(postgres_url: str, kafka_bootstrap: str, db_schema: str) -> Settings:
    return settings_for("matching", postgres_url, kafka_bootstrap, db_schema, **FAST_RELAY)


@pytest.fixture
async def matching(matching_settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    """The matching service alone, in-process (for events published straight to the broker)."""
    async with AsyncTestClient(create_matching_app(matching_settings)) as client:
        yield client


def actor(user_id: UUID, role: str = PARTY_A) -> dict[str, str]:
    """Headers of a request made by ``user_id`` acting as ``role`` (the gateway's assertion)."""
    return actor_headers(user_id, role)


async def qualify(matching: AsyncTestClient[Any], provider: UUID) -> None:
    """The provider submits a qualification: matching now knows it (and shows its record)."""
    response = await matching.post(
        f"/providers/{provider}/qualifications",
        json={"kind": "certificate", "reference": "CVAT-42", "skills": ["labeling"]},
        headers=actor(provider, PARTY_B),
    )
    assert response.status_code == 201, response.text
