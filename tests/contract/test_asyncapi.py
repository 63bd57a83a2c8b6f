"""The AsyncAPI 3.0 document (``ring events asyncapi``): complete, self-consistent, and every
golden example valid against the payload schema it names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from ring_events.asyncapi import asyncapi_document
from ring_events.cli import events
from ring_events.registry import EVENT_UNIONS, event_types

GOLDEN = Path(__file__).with_name("golden")


def _examples() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(GOLDEN.glob("*/*.json"))}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi_document(_examples())


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_every_topic_and_event_type_is_in_the_document(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == set(EVENT_UNIONS)
    tags = {message["name"] for message in document["components"]["messages"].values()}
    assert tags == {
        str(cls.__struct_config__.tag) for topic in EVENT_UNIONS for cls in event_types(topic)
    }
    assert "event_id" in document["info"]["description"]  # the dedupe rule is in the contract
    assert "event_id" in document["components"]["schemas"]["RingHeaders"]["required"]
    for operation in document["operations"].values():
        assert operation["action"] == "receive"


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    for ref in _refs(document):
        assert _resolve(document, ref) is not None, ref


def test_every_example_matches_its_payload_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    checked = 0
    for message in document["components"]["messages"].values():
        for example in message.get("examples", []):
            schema = {
                **_resolve(document, message["payload"]["$ref"]),
                "components": {"schemas": schemas},
            }
            jsonschema.validate(example["payload"], schema)
            checked += 1
    assert checked == len(_examples())


def test_the_command_writes_the_document(tmp_path: Path) -> None:
    out = tmp_path / "asyncapi.json"
    result = CliRunner().invoke(events, ["asyncapi", "--out", str(out), "--examples", str(GOLDEN)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["channels"]
