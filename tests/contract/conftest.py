"""Shared paths of the event contract tests."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture
def snapshots_dir() -> Path:
    """Committed JSON Schemas, one ``<topic>.schema.json`` per topic."""
    return HERE / "snapshots"


@pytest.fixture
def golden_dir() -> Path:
    """Golden message values, ``<topic>/<type tag>.json``."""
    return HERE / "golden"
