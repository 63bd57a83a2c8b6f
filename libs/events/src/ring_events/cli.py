"""``ring events``: inspect the public event contracts."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ring_events.asyncapi import asyncapi_document
from ring_events.registry import EVENT_UNIONS, export_schemas, json_schema, render_schema

events = click.Group("events", help="Public integration events: contracts and schemas.")


@events.command("schema")
@click.option(
    "--topic",
    type=click.Choice(sorted(EVENT_UNIONS)),
    help="Only this topic (default: every topic).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write <topic>.schema.json files into this directory instead of printing.",
)
def schema(topic: str | None, out_dir: Path | None) -> None:
    """Print or write the JSON Schema of each topic's messages."""
    schemas = {topic: json_schema(topic)} if topic else export_schemas()
    if out_dir is None:
        click.echo(render_schema(schemas[topic] if topic else schemas), nl=False)
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, body in schemas.items():
        path = out_dir / f"{name}.schema.json"
        path.write_text(render_schema(body), encoding="utf-8")
        click.echo(str(path))


@events.command("asyncapi")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the document to this file instead of printing it.",
)
@click.option(
    "--examples",
    "examples_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Directory of <topic>/<type>.json example payloads (e.g. tests/contract/golden).",
)
def asyncapi(out_file: Path | None, examples_dir: Path | None) -> None:
    """Print or write the AsyncAPI 3.0 document of every topic (channels, key, headers,
    payloads, examples, ordering and dedupe rules)."""
    examples = {}
    for path in sorted(examples_dir.glob("*/*.json")) if examples_dir else ():
        examples[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    text = render_schema(asyncapi_document(examples))
    if out_file is None:
        click.echo(text, nl=False)
        return
    out_file.write_text(text, encoding="utf-8")
    click.echo(str(out_file))
