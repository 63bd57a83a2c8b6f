"""What several runtime tests store events in: a bare :class:`RingApplication` on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
