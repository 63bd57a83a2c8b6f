"""``ring audit``: read what the platform recorded, across services (operators, auditors)."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import click
import httpx

from ring_runtime.audit import gather_trail
from ring_runtime.settings import SERVICE_PORTS


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
            f"{e['name']:<32} correlation={e['correlation_id']} causation={e['causation_id']}"
        )


async def _gather(trail_id: str, urls: dict[str, str]) -> dict[str, Any] | None:
    async with httpx.AsyncClient(timeout=10) as client:

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
