"""The JSON Schema of every topic's union matches its committed snapshot.

A contract change must be deliberate. After an intended change (fields added with defaults
only, or a new ``...V2`` type), regenerate the snapshots and commit them:

    RING_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/contract
    # or: .venv/bin/ring events schema --out tests/contract/snapshots
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ring_events.registry import EVENT_UNIONS, json_schema, render_schema

UPDATE = os.environ.get("RING_UPDATE_SNAPSHOTS") == "1"


@pytest.mark.parametrize("topic", sorted(EVENT_UNIONS))
def test_schema_matches_snapshot(topic: str, snapshots_dir: Path) -> None:
    path = snapshots_dir / f"{topic}.schema.json"
    current = render_schema(json_schema(topic))
    if UPDATE:
        path.write_text(current, encoding="utf-8")
    assert path.exists(), f"no snapshot for {topic}; run with RING_UPDATE_SNAPSHOTS=1"
    assert path.read_text(encoding="utf-8") == current, (
        f"the public contract of {topic} changed. If intended (fields added with defaults, or "
        "a new V2 type), regenerate: RING_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/contract"
    )


def test_every_snapshot_has_a_topic(snapshots_dir: Path) -> None:
    names = {path.name.removesuffix(".schema.json") for path in snapshots_dir.glob("*.json")}
    assert names == set(EVENT_UNIONS)
