"""``ring dlq``: what consumers of a service parked, and why."""

from __future__ import annotations

import click

from ring_runtime.dead_letters import DeadLetterStore
from ring_runtime.settings import load_settings


@click.group("dlq")
def dlq() -> None:
    """Inspect dead-lettered messages."""


@dlq.command("list")
@click.argument("service")
@click.option("--limit", default=20, show_default=True, help="How many, newest first.")
def list_letters(service: str, limit: int) -> None:
    """List the messages SERVICE's consumers parked, newest first."""
    settings = load_settings(service)
    store = DeadLetterStore(settings.database_url, settings.db_schema)
    store.create_table()
    letters = store.list(limit)
    if not letters:
        click.echo(f"{service}: no dead letters")
        return
    for letter in letters:
        click.echo(
            f"{letter.parked_at:%Y-%m-%d %H:%M:%S} {letter.consumer} "
            f"{letter.topic}[{letter.partition}]@{letter.offset} key={letter.key} "
            f"attempts={letter.attempts}\n    {letter.error}"
        )
    click.echo(
        f"{len(letters)} shown. After fixing the cause, re-drive with "
        f"`ring relay republish <upstream service>`."
    )
