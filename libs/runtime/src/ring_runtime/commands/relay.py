"""``ring relay``: operator commands for a service's outbox relay."""

from __future__ import annotations

import click

from ring_runtime.relay import relay_log
from ring_runtime.relay_log import RelayLog
from ring_runtime.service import load_service
from ring_runtime.settings import load_settings


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
def republish(service: str) -> None:
    """Publish SERVICE's whole event log again, from its first event.

    Consumers ignore what they already applied. Use it to re-drive dead-lettered events after a
    fix, or to rebuild a topic. The active relay starts within RING_RELAY_LOSS_CHECK_INTERVAL_MS.
    """
    _log_of(service).request_republish()
    click.echo(f"{service}: republish requested; the active relay starts from the first event")
