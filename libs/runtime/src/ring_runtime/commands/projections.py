"""``ring projections``: rebuild a service's read models from the event log and compare."""

from __future__ import annotations

import json
import sys

import click

from ring_runtime.rebuild import rebuild_and_compare
from ring_runtime.relay import PublishedEvents
from ring_runtime.service import load_service, registered_services
from ring_runtime.settings import load_settings


@click.group("projections")
def projections() -> None:
    """Read models kept from the event log."""


@projections.command("list")
def list_models() -> None:
    """Every rebuildable read model, as SERVICE NAME."""
    for service, definition in registered_services().items():
        for model in sorted(definition.read_models):
            click.echo(f"{service} {model}")


@projections.command("rebuild")
@click.argument("service")
@click.argument("name", required=False)
@click.option("--verify", is_flag=True, help="Diff the rebuilt model with the live one.")
@click.option("--keep", is_flag=True, help="Keep the scratch schema (its name is printed).")
def rebuild(service: str, name: str | None, verify: bool, keep: bool) -> None:
    """Rebuild SERVICE's read model NAME (default: every one; `ring projections list` names
    them) from the first event into a scratch schema. A model fed from a context topic is
    rebuilt from the store of the service publishing it (read with that service's settings).
    With --verify, compare it row by row with the live model at the same log position, print
    the differences and exit 1 if there are any. Safe while the platform runs: the live model
    is held still only for the instant the snapshot is taken."""
    try:
        definition = load_service(service)
    except LookupError as error:
        raise click.UsageError(str(error)) from None
    models = dict(definition.read_models)
    if name is not None and name not in models:
        known = ", ".join(sorted(models)) or "none"
        raise click.UsageError(f"{service} has no read model {name!r}; rebuildable: {known}")
    settings = load_settings(service)
    different = False
    for model in [name] if name else sorted(models):
        with click.progressbar(length=0, label=f"{service}/{model}", file=sys.stderr) as bar:
            report = rebuild_and_compare(
                model,
                models[model],
                settings,
                sources=published_events,
                measured=lambda events: setattr(bar, "length", events),  # known once opened
                progress=bar.update,
                keep=keep,
            )
        rows = ", ".join(f"{table} {count}" for table, count in report.rows.items())
        click.echo(f"{service}/{model}: rebuilt at notification {report.position} ({rows})")
        if keep:
            click.echo(f"{service}/{model}: kept in schema {report.scratch_schema}")
        if not verify:
            continue
        for difference in report.differences:
            different = True
            click.echo(
                f"{service}/{model}: {difference.table}: {difference.only_live} row(s) only in "
                f"the live model, {difference.only_rebuilt} only in the rebuild"
            )
            for row in difference.live_rows:
                click.echo(f"  - live    {json.dumps(row, sort_keys=True)}")
            for row in difference.rebuilt_rows:
                click.echo(f"  + rebuilt {json.dumps(row, sort_keys=True)}")
        if not report.differences:
            click.echo(f"{service}/{model}: identical to the live model")
    if different:
        raise SystemExit(1)


def published_events(topic: str) -> PublishedEvents:
    """The store of the service publishing ``topic``, opened with that service's settings."""
    for service, definition in registered_services().items():
        translator, event_log = definition.translator, definition.event_log
        if translator is not None and event_log is not None and translator.topic == topic:
            settings = load_settings(service)
            return PublishedEvents(event_log(settings), translator, settings)
    raise click.ClickException(f"no installed service publishes {topic}")
