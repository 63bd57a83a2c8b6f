"""``ring events schema`` prints or writes the JSON Schema of each topic."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ring_events.cli import events
from ring_events.registry import json_schema
from ring_events.topics import TASK_EVENTS


def test_prints_one_topic() -> None:
    result = CliRunner().invoke(events, ["schema", "--topic", TASK_EVENTS])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == json_schema(TASK_EVENTS)


def test_writes_one_file_per_topic(tmp_path: Path) -> None:
    result = CliRunner().invoke(events, ["schema", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / f"{TASK_EVENTS}.schema.json").read_text(encoding="utf-8"))
    assert written == json_schema(TASK_EVENTS)
