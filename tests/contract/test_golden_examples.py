"""A golden example of every type tag decodes with the real decoder and fits the JSON Schema.

Golden files are what producers actually sent; they must keep decoding forever. Add one
``golden/<topic>/<tag>.json`` for every new tag; never edit an existing one to fit a change.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from ring_events.base import event_type
from ring_events.registry import EVENT_UNIONS, decoder_for, event_types, json_schema

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = sorted(GOLDEN.glob("*/*.json"))


def _tag(cls: type) -> str:
    return str(cls.__struct_config__.tag)  # type: ignore[attr-defined]


@pytest.mark.parametrize("topic", sorted(EVENT_UNIONS))
def test_every_tag_has_a_golden_example(topic: str, golden_dir: Path) -> None:
    tags = {_tag(cls) for cls in event_types(topic)}
    examples = {path.stem for path in (golden_dir / topic).glob("*.json")}
    assert tags - examples == set(), "add golden examples for these tags"
    assert examples - tags == set(), "golden examples for tags nobody may publish any more"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_golden_example_decodes(path: Path) -> None:
    event = decoder_for(path.parent.name).decode(path.read_bytes())
    assert event_type(event) == path.stem


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_golden_example_fits_the_json_schema(path: Path) -> None:
    schema = json_schema(path.parent.name)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(json.loads(path.read_text(encoding="utf-8")))
