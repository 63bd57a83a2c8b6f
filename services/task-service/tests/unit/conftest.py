"""Fixtures for task-service unit tests: the application on the in-memory (POPO) store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from ring_task.application import Tasks

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(days=7)


@pytest.fixture
def app() -> Tasks:
    return Tasks(env={"PERSISTENCE_MODULE": "eventsourcing.popo", "RING_PLATFORM_FEE_BPS": "500"})


@pytest.fixture
def now() -> datetime:
    """The instant every test command happens at, unless it says otherwise."""
    return NOW


@pytest.fixture
def deadline() -> datetime:
    """The default task deadline, a week after :func:`now`."""
    return DEADLINE


@pytest.fixture
def owner() -> UUID:
    return uuid4()


@pytest.fixture
def provider() -> UUID:
    return uuid4()


@pytest.fixture
def draft(app: Tasks, owner: UUID) -> Callable[..., UUID]:
    """Create a draft task; keyword arguments override the defaults."""

    def create(**overrides: object) -> UUID:
        fields: dict[str, Any] = {
            "title": "Label 100 images",
            "description": "Bounding boxes",
            "requirements": "Experience with CVAT",
            "acceptance_criteria": "IoU >= 0.9",
            "deadline": DEADLINE,
            "commission_minor": 10_000,
            "currency": "CNY",
            "slots": 3,
            "required_skills": ("labeling",),
            "approval_required": False,
            "now": NOW,
        }
        fields.update(overrides)
        return app.create_task(owner, **fields)

    return create


@pytest.fixture
def published(app: Tasks, owner: UUID, draft: Callable[..., UUID]) -> Callable[..., UUID]:
    """Create a task and take it through funding to ``published``."""

    def create(**overrides: object) -> UUID:
        task_id = draft(**overrides)
        app.publish(task_id, owner, now=NOW)
        app.mark_funded(task_id, now=NOW)
        return task_id

    return create
