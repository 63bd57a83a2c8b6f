"""``ring relay``: operator commands for a service's outbox relay."""

from __future__ import annotations

import asyncio
from uuid import UUID

import click

from ring_runtime.relay import relay_log
from ring_runtime.relay_log import RelayLog
from ring_runtime.service import load_service
from ring_runtime.settings import load_settings
from ring_runtime.topic_reader import notification_ids_on_topic


@click.group("relay")
def relay() -> None:
    """Inspect or re-drive a service's outbox relay."""


def _log_of(name: str) -> RelayLog:
    try:
        service = load_service(name)
    except LookupError as error:
        raise click.UsageError(str(error)) from None
    if service.translator is None or service.application_name is None:
        raise click.UsageError(f"service {name!r} publishes no events")
    return relay_log(load_settings(name), service.application_name, service.translator)


@relay.command("lag")
@click.argument("service")
def lag(service: str) -> None:
    """Print how many published events of SERVICE are not yet on the broker."""
    click.echo(f"{service}: {_log_of(service).lag()} event(s) in the store not yet published")


@relay.command("republish")
@click.argument("service")
@click.option(
    "--from", "first", type=click.IntRange(min=1), default=1, help="First notification id."
)
@click.option("--aggregate", type=click.UUID, help="Only the events of this aggregate.")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Send every event in the range again, also those the broker holds (re-drive "
    "dead-lettered events after a fix; consumers dedupe on event_id).",
)
def republish(service: str, first: int, aggregate: UUID | None, everything: bool) -> None:
    """Publish again the events of SERVICE the broker is missing.

    Reads the topic's notification_id headers and asks the active relay to send only the
    events it already published that are not there, so the topic holds one copy of each
    (an analyst summing it counts nothing twice). When the topic cannot tell (retention removed
    records), or with --all, every event in the range is sent again. --from and --aggregate
    narrow the range. The relay keeps its position and sends them within its poll interval.
    """
    log = _log_of(service)
    published, position = log.published_ids(first, aggregate)
    if everything:
        missing = published
    else:
        on_topic = asyncio.run(notification_ids_on_topic(load_settings(service), log.topic))
        if on_topic is None:
            click.echo(f"{service}: {log.topic} no longer holds its first records; sending all")
            missing = published
        else:
            missing = [n for n in published if n not in on_topic]
    if missing:
        log.request_events(missing)
    click.echo(
        f"{service}: {len(missing)} of {len(published)} published event(s) in range "
        f"(relay at notification {position}) requested again"
    )
