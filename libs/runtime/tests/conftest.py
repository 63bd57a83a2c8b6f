"""Runtime test fixtures: a bare :class:`RingApplication` on PostgreSQL, a topic per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from ring_events import registry
from ring_events.topics import TASK_EVENTS
from ring_runtime.settings import load_settings
from ring_runtime.store import RingApplication, create_application


class Notes(RingApplication):
    """An application storing notes (each test module declares the Note it saves)."""


@pytest.fixture
def notes(postgres_url: str, db_schema: str, tmp_path: Path) -> Iterator[Notes]:
    settings = load_settings(
        "task",
        {
            "RING_DATABASE_URL": postgres_url,
            "RING_DB_SCHEMA": db_schema,
            "RING_DATA_DIR": str(tmp_path),
        },
    )
    app = create_application(Notes, settings)
    yield app
    app.close()


@pytest.fixture
def topic(monkeypatch: pytest.MonkeyPatch) -> str:
    """A topic of this test alone, carrying task events."""
    name = f"ring.test-{uuid4().hex[:8]}.events"
    monkeypatch.setitem(registry.EVENT_UNIONS, name, registry.EVENT_UNIONS[TASK_EVENTS])
    monkeypatch.setitem(registry._DECODERS, name, registry._DECODERS[TASK_EVENTS])
    return name
