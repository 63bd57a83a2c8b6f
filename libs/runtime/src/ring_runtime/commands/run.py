"""``ring run``: the whole platform in the foreground (what ``make run`` calls).

Starts the embedded PostgreSQL and broker (unless ``RING_EMBEDDED=false``), then every registered
service as its own process under the :class:`~ring_runtime.supervisor.Supervisor`, which also
restarts PostgreSQL or the broker when they die; waits for every ``/health`` and prints where to
go. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType

import click

from ring_runtime.embedded import (
    EmbeddedBroker,
    EmbeddedBrokerError,
    EmbeddedKafka,
    EmbeddedPostgres,
    EmbeddedPostgresError,
)
from ring_runtime.settings import ENVIRONMENT, SERVICE_PORTS
from ring_runtime.supervisor import ChildSpec, Server, Supervisor

_DEFAULTS = {v.name: v.default for v in ENVIRONMENT}
GATEWAY = "gateway"
WEB = "web"


def _setting(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name, _DEFAULTS[name])


def _flag(value: str) -> bool:
    return value.strip().lower() not in ("0", "false", "no", "n", "off")


def service_order(names: list[str]) -> list[str]:
    """Services in start order: alphabetical, the gateway last."""
    return sorted(names, key=lambda name: (name == GATEWAY, name))


def service_specs(names: list[str], environ: Mapping[str, str]) -> list[ChildSpec]:
    """One child per service: ``python -m ring_runtime.commands.serve NAME``.

    The gateway is told where each service listens, and the web app where the gateway
    listens, unless ``RING_<SERVICE>_URL`` is set, so a ``RING_PORT_OFFSET`` moves the upstreams
    with the services.
    """
    upstreams = {
        f"RING_{name.upper()}_URL": service_url(name, environ)
        for name in names
        if name != WEB and f"RING_{name.upper()}_URL" not in environ
    }
    env = {**upstreams, **environ, "PYTHONUNBUFFERED": "1"}
    return [
        ChildSpec(
            name, [sys.executable, "-m", "ring_runtime.commands.serve", name], env, service=name
        )
        for name in service_order(names)
    ]


def fork_server_spec(specs: list[ChildSpec], environ: Mapping[str, str]) -> ChildSpec | None:
    """The fork server the services are forked from, unless ``RING_FORK_SERVER`` is off.

    It runs with the services' environment, so what their modules read at import time is the
    same as in a service started as its own program.
    """
    if not any(spec.service for spec in specs) or not _flag(_setting(environ, "RING_FORK_SERVER")):
        return None
    return ChildSpec("forkserver", [sys.executable, "-m", "ring_runtime.forkserver"], specs[0].env)


def service_url(name: str, environ: Mapping[str, str]) -> str:
    """Base URL a service listens on when started by ``ring run``."""
    host = _setting(environ, "RING_HTTP_HOST")
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - only compared, never bound
        host = "127.0.0.1"
    return f"http://{host}:{SERVICE_PORTS.get(name, 8100)}"


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as response:  # noqa: S310
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


async def wait_healthy(urls: Mapping[str, str], within: float) -> list[str]:
    """Poll ``GET /health`` of every URL until all answer 200; return those that never did."""
    pending = dict(urls)
    deadline = time.monotonic() + within
    while pending and time.monotonic() < deadline:
        results = await asyncio.gather(*(asyncio.to_thread(_healthy, u) for u in pending.values()))
        pending = {n: u for (n, u), ok in zip(pending.items(), results, strict=True) if not ok}
        if pending:
            await asyncio.sleep(0.25)
    return sorted(pending)


def banner(urls: Mapping[str, str], broker: str = "") -> str:
    """What to open once everything is up, and which broker the platform runs on."""
    lines = ["", "Ring is running. Ctrl-C stops every process."]
    if GATEWAY in urls:
        gateway = urls[GATEWAY]
        lines += [
            f"  gateway   {gateway}",
            f"  API docs  {gateway}/schema",
        ]
        if WEB in urls:
            lines.append(f"  web app   {urls[WEB]}")
    else:
        lines += [f"  {name:<9} {url}" for name, url in urls.items()]
    if broker:
        lines.append(f"  broker    {broker}")
    lines += [
        "  admin     .venv/bin/ring admin create EMAIL --password-stdin",
        "",
    ]
    return "\n".join(lines)


def broker_summary(environ: Mapping[str, str]) -> str:
    """The broker line of the banner: which broker runs and where."""
    bootstrap = _setting(environ, "RING_KAFKA_BOOTSTRAP")
    if not _flag(_setting(environ, "RING_EMBEDDED")):
        return f"{bootstrap} (RING_EMBEDDED=false)"
    if _setting(environ, "RING_BROKER").strip().lower() == "kafka":
        return f"Apache Kafka on {bootstrap} (RING_BROKER=kafka, data on disk)"
    return f"Tansu on {bootstrap} (in memory; RING_BROKER=kafka runs Apache Kafka)"


@contextlib.contextmanager
def _step(label: str) -> Iterator[None]:
    click.echo(f"starting {label}… ", nl=False)
    started = time.monotonic()
    yield
    click.echo(f"ready in {time.monotonic() - started:.2f} s")


@contextlib.contextmanager
def embedded_infrastructure(environ: dict[str, str]) -> Iterator[dict[str, Server]]:
    """Start PostgreSQL and the broker when ``RING_EMBEDDED`` is on; export their addresses.

    ``environ`` is updated in place with ``RING_DATABASE_URL`` and ``RING_KAFKA_BOOTSTRAP``.
    Yields the servers started, by name, for the supervisor to restart when they die.
    """
    if not _flag(_setting(environ, "RING_EMBEDDED")):
        click.echo("RING_EMBEDDED=false: using RING_DATABASE_URL and RING_KAFKA_BOOTSTRAP as set")
        yield {}
        return
    data_dir = Path(_setting(environ, "RING_DATA_DIR"))
    postgres = EmbeddedPostgres(
        data_dir / "postgres", int(_setting(environ, "RING_EMBEDDED_PG_PORT")), durable=True
    )
    broker, label = embedded_broker(environ, data_dir)
    try:
        with _step(f"PostgreSQL on 127.0.0.1:{postgres.port} (data in {postgres.data_dir})"):
            postgres.start()
        with _step(f"{label} on {broker.bootstrap}"):
            broker.start()
        environ["RING_DATABASE_URL"] = postgres.url
        environ["RING_KAFKA_BOOTSTRAP"] = broker.bootstrap
        yield {"postgres": postgres, "broker": broker}
    finally:
        click.echo("stopping the broker and PostgreSQL…")
        broker.stop()
        postgres.stop()


def embedded_broker(
    environ: Mapping[str, str], data_dir: Path
) -> tuple[EmbeddedBroker | EmbeddedKafka, str]:
    """The broker ``RING_BROKER`` names, not started yet, and how the console calls it.

    Raises:
        click.ClickException: ``RING_BROKER`` is neither ``tansu`` nor ``kafka``.
    """
    port = int(_setting(environ, "RING_EMBEDDED_KAFKA_PORT"))
    choice = _setting(environ, "RING_BROKER").strip().lower()
    if choice == "tansu":
        broker = EmbeddedBroker(port, log_path=data_dir / "tansu.log")
        return broker, "Kafka-protocol broker (Tansu, in memory)"
    if choice == "kafka":
        kafka = EmbeddedKafka(
            data_dir / "apache-kafka", port, jars_home=Path(_setting(environ, "RING_KAFKA_JARS"))
        )
        return kafka, f"Apache Kafka (KRaft, data in {kafka.data_dir}, log {kafka.log_path})"
    raise click.ClickException(f"RING_BROKER must be tansu or kafka, got {choice!r}")


def installed_services() -> list[str]:
    """Names of the services installed in this environment (entry-point group ring.services).

    Raises:
        click.ClickException: a service's entry point cannot be loaded.
    """
    from ring_runtime.service import registered_services

    try:
        return list(registered_services())
    except Exception as error:
        raise click.ClickException(
            f"cannot load the installed services: {type(error).__name__}: {error}"
        ) from error


async def _serve_all(
    names: list[str],
    environ: dict[str, str],
    health_timeout: float,
    servers: Mapping[str, Server],
) -> None:
    specs = service_specs(names, environ)
    supervisor = Supervisor(specs, servers=servers, fork_server=fork_server_spec(specs, environ))
    if not names:
        supervisor.say("no services are installed (entry-point group ring.services)")
    urls = {name: service_url(name, environ) for name in service_order(names)}

    async def announce() -> None:
        missing = await wait_healthy(urls, health_timeout)
        if missing:
            supervisor.say(f"not healthy after {health_timeout:g} s: {', '.join(missing)}")
        else:
            click.echo(banner(urls, broker_summary(environ)))

    await supervisor.run(on_started=announce)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@click.command()
@click.option(
    "--health-timeout",
    default=120.0,
    show_default=True,
    help="Seconds to wait for every service's /health before warning.",
)
def run(health_timeout: float) -> None:
    """Start the whole platform in the foreground; Ctrl-C stops everything it started."""
    names = installed_services()
    environ = dict(os.environ)
    signal.signal(signal.SIGTERM, _interrupt)  # until the supervisor installs its own handler
    try:
        with embedded_infrastructure(environ) as servers:
            asyncio.run(_serve_all(names, environ, health_timeout, servers))
    except (EmbeddedPostgresError, EmbeddedBrokerError) as error:
        raise click.ClickException(str(error)) from error
    except KeyboardInterrupt:
        pass
    click.echo("stopped.")
