"""Schema evolution: compared with the committed snapshot, a contract may only grow compatibly.

Allowed: new event types, new fields with defaults. Refused: removing a type or a field,
adding a required field, changing a field's type. Such changes need a new ``...V2`` type.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ring_events.registry import EVENT_UNIONS, json_schema

#: Keys of a property schema that only document it.
_ANNOTATIONS = {"description", "title", "examples"}


def _types_by_tag(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    defs = schema["$defs"]
    mapping = schema["discriminator"]["mapping"]
    return {tag: defs[ref.rsplit("/", 1)[-1]] for tag, ref in mapping.items()}


def _shape(prop: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in prop.items() if key not in _ANNOTATIONS}


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every incompatible difference from the ``old`` schema to the ``new`` one."""
    problems = []
    new_types = _types_by_tag(new)
    for tag, before in _types_by_tag(old).items():
        after = new_types.get(tag)
        if after is None:
            problems.append(f"{tag}: type removed")
            continue
        old_required = set(before.get("required", ()))
        for name, prop in before["properties"].items():
            if name not in after["properties"]:
                problems.append(f"{tag}.{name}: field removed")
            elif _shape(after["properties"][name]) != _shape(prop):
                problems.append(f"{tag}.{name}: type changed")
        for name in set(after.get("required", ())) - old_required:
            problems.append(f"{tag}.{name}: new field without a default")
    return problems


@pytest.mark.parametrize("topic", sorted(EVENT_UNIONS))
def test_contract_only_grows_compatibly(topic: str, snapshots_dir: Path) -> None:
    snapshot = json.loads((snapshots_dir / f"{topic}.schema.json").read_text(encoding="utf-8"))
    assert breaking_changes(snapshot, json_schema(topic)) == []


def test_the_check_catches_breaking_changes(snapshots_dir: Path) -> None:
    old = json.loads((snapshots_dir / "ring.task.events.schema.json").read_text(encoding="utf-8"))
    new = json.loads(json.dumps(old))
    defs = new["$defs"]
    del defs["TaskCancelled"]["properties"]["owner_id"]
    defs["TaskCreated"]["properties"]["priority"] = {"type": "integer"}
    defs["TaskCreated"]["required"].append("priority")
    defs["OrderProgressed"]["properties"]["percent"] = {"type": "number"}
    del new["discriminator"]["mapping"]["order.expired.v1"]
    assert sorted(breaking_changes(old, new)) == [
        "order.expired.v1: type removed",
        "order.progressed.v1.percent: type changed",
        "task.cancelled.v1.owner_id: field removed",
        "task.created.v1.priority: new field without a default",
    ]


def test_optional_fields_and_new_types_are_compatible(snapshots_dir: Path) -> None:
    old = json.loads((snapshots_dir / "ring.task.events.schema.json").read_text(encoding="utf-8"))
    new = json.loads(json.dumps(old))
    new["$defs"]["TaskCreated"]["properties"]["priority"] = {"type": "integer", "default": 0}
    new["$defs"]["TaskCreatedV2"] = {"properties": {}, "required": ["type"]}
    new["discriminator"]["mapping"]["task.created.v2"] = "#/$defs/TaskCreatedV2"
    assert breaking_changes(old, new) == []
