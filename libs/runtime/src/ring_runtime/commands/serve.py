"""``ring serve NAME``: run one service process (HTTP API, relay, consumers) in the foreground.

Also runnable as ``python -m ring_runtime.commands.serve NAME`` (that is how the supervisor of
``make run`` starts each service).
"""

from __future__ import annotations

import sys

import click
import uvicorn

from ring_runtime.logs import configure_logging
from ring_runtime.service import load_service
from ring_runtime.settings import SettingsError, load_settings


@click.command()
@click.argument("name")
def serve(name: str) -> None:
    """Run the service NAME (task, ledger, …) until interrupted."""
    serve_service(name)


def serve_service(name: str) -> None:
    """Load, configure and serve the service ``name`` (also what a forked child of the fork
    server of ``ring run`` runs, the imports being done).

    Raises:
        click.UsageError: no service of that name is installed.
        click.ClickException: its settings are invalid.
    """
    try:
        service = load_service(name)
    except LookupError as error:
        raise click.UsageError(str(error)) from None
    try:
        settings = load_settings(name)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    configure_logging(settings.log_level, service=name, log_format=settings.log_format)
    app = service.create_app(settings)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        # The client address behind the ingress: X-Forwarded-For only from these peers.
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    serve(sys.argv[1:])
