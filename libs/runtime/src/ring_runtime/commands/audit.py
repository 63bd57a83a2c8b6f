"""``ring audit``: read what the platform recorded, across services (operators, auditors)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import Any
from uuid import UUID

import click
import httpx

from ring_runtime.audit import gather_trail
from ring_runtime.identity import ADMIN, ASSERTION_HEADER, gateway_signer
from ring_runtime.integrity import audit_keys, event_leaves, verify_store
from ring_runtime.service import load_service, service_names
from ring_runtime.settings import ENVIRONMENT, SERVICE_PORTS, load_settings

#: Whom the trail's reads are signed as: the operator, with the admin role the services' audit
#: endpoints ask for. Reads record nothing, so no real user is named.
OPERATOR = UUID(int=0)


def service_urls() -> dict[str, str]:
    """Base URL of every service's internal API: ``RING_<NAME>_URL`` (what the gateway uses),
    else the local default port (``RING_PORT_OFFSET`` applied)."""
    return {
        name: os.environ.get(f"RING_{name.upper()}_URL", f"http://127.0.0.1:{port}").rstrip("/")
        for name, port in SERVICE_PORTS.items()
    }


@click.group("audit")
def audit() -> None:
    """Trails of business transactions across services."""


@audit.command("trail")
@click.argument("trail_id")
@click.option("--json", "as_json", is_flag=True, help="Print the trail as JSON.")
def trail(trail_id: str, as_json: bool) -> None:
    """Everything TRAIL_ID (a task or other aggregate id, or a correlation id) caused in every
    service, oldest first; exits 1 when nothing was recorded under it."""
    found = asyncio.run(_gather(trail_id, service_urls()))
    if found is None:
        raise click.ClickException(f"nothing was recorded under {trail_id}")
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    click.echo(f"trail {trail_id}: {len(found['events'])} event(s)")
    for e in found["events"]:
        click.echo(
            f"{e['timestamp']}  {e['service']:<8} {e['aggregate_id']} v{e['version']:<3} "
            f"{e['name']:<32} actor={e.get('actor') or '-'} "
            f"correlation={e['correlation_id']} causation={e['causation_id']}"
        )


def _operator_assertion() -> str:
    """An admin assertion signed like ``ring keys assertion`` (RING_GATEWAY_SIGNING_KEY, else
    the development pair under RING_DATA_DIR): the services answer only signed callers."""
    defaults = {v.name: v.default for v in ENVIRONMENT}
    signer = gateway_signer(
        os.environ.get("RING_GATEWAY_SIGNING_KEY", ""),
        os.environ.get("RING_DATA_DIR", defaults["RING_DATA_DIR"]),
    )
    return signer.sign(OPERATOR, ADMIN)


async def _gather(trail_id: str, urls: dict[str, str]) -> dict[str, Any] | None:
    headers = {ASSERTION_HEADER: _operator_assertion()}
    async with httpx.AsyncClient(timeout=10, headers=headers) as client:

        async def ask_all(path: str, params: dict[str, str]) -> list[Any]:
            async def ask(base: str) -> Any:
                try:
                    response = await client.get(base + path, params=params)
                except httpx.HTTPError as error:
                    raise click.ClickException(f"{base} did not answer: {error}") from None
                return response.json() if response.status_code == 200 else None

            answers = await asyncio.gather(*(ask(base) for base in urls.values()))
            return [a for a in answers if a is not None]

        return await gather_trail(trail_id, ask_all)


@audit.command("verify")
@click.argument("service", required=False)
def verify(service: str | None) -> None:
    """Recompute the Merkle tree of SERVICE's event store (default: every service's) from its
    events and check it against the signed checkpoints; name the first event edited, deleted,
    inserted or reordered. Exits 1 when anything is wrong."""
    names = [service] if service else service_names()
    failed = False
    for name in names:
        try:
            definition = load_service(name)
        except LookupError as error:
            raise click.UsageError(str(error)) from None
        if definition.application_name is None:
            if service:
                raise click.UsageError(f"service {name!r} keeps no event store")
            continue
        settings = load_settings(name)
        leaves = event_leaves(settings, definition.application_name)
        with leaves.connect() as conn:
            leaves.create_tables(conn)
            tree, _ = leaves.load_head(conn)
            signed = leaves.last_signed(conn)
        with click.progressbar(length=tree.size + signed, label=name, file=sys.stderr) as bar:
            report = verify_store(leaves, name, audit_keys(settings)[1], _advancer(bar))
        click.echo(
            f"{name}: {report.events} event(s) match the tree of {tree.size}, "
            f"{report.checkpoints} signed checkpoint(s)"
        )
        for finding in report.findings:
            failed = True
            click.echo(f"{name}: {finding.kind.upper()}: {finding.detail}")
    if failed:
        raise SystemExit(1)


def _advancer(bar: Any) -> Callable[[int], None]:
    def advance(steps: int) -> None:
        bar.update(steps)

    return advance
