"""``ring events``: inspect the public event contracts."""

from __future__ import annotations

from pathlib import Path

import click

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
