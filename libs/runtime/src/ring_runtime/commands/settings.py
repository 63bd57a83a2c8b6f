"""``ring settings``: every environment variable Ring reads, its default and meaning."""

from __future__ import annotations

import click

from ring_runtime.settings import ENVIRONMENT


def settings_table() -> str:
    """The environment variables as a Markdown table (the README embeds it)."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for variable in ENVIRONMENT:
        default = f"`{variable.default}`" if variable.default else "(empty)"
        lines.append(f"| `{variable.name}` | {default} | {variable.description} |")
    return "\n".join(lines)


@click.command("settings")
def settings() -> None:
    """Print every environment variable with its default, as a Markdown table."""
    click.echo(settings_table())
