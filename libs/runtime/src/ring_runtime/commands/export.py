"""``ring export``: the public topics as tables for analysts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from ring_runtime.export import export as export_tables
from ring_runtime.settings import load_settings


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["parquet"]), default="parquet")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option(
    "--since", type=datetime.fromisoformat, help="Only events at or after this ISO-8601 time."
)
def export(fmt: str, out: Path, since: datetime | None) -> None:
    """Write tasks, orders, vouchers, settlements, postings, disputes and providers from the
    topics (RING_KAFKA_BOOTSTRAP) to OUT/<table>.parquet, one row per event, deduplicated on
    event_id; DuckDB reads them directly (docs/analytics.md)."""
    if since is not None and since.tzinfo is None:
        raise click.BadParameter(
            "needs a time zone, e.g. 2026-11-30T00:00:00+00:00", param_hint="--since"
        )
    report = export_tables(load_settings("export"), out, since)
    for table, count in report.rows.items():
        click.echo(f"{out / table}.{fmt}: {count} row(s)")
    click.echo(
        f"skipped {report.duplicates} duplicate(s) and {report.undecodable} undecodable record(s)"
    )
