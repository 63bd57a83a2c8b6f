"""The fixed service ports that every ``ring run`` of a test binds (``RING_PORT_OFFSET`` moves
them): a platform still stopping would otherwise serve the next test's requests."""

from __future__ import annotations

import httpx

from ring_runtime.settings import SERVICE_PORTS
from ring_runtime.testing.polling import wait_until


def answering_service_ports() -> list[int]:
    """The service ports whose ``/health`` still answers."""
    busy = []
    for port in SERVICE_PORTS.values():
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
        except httpx.HTTPError:
            continue
        busy.append(port)
    return busy


def wait_service_ports_quiet(within: float = 60.0) -> None:
    """Wait until no service port answers; fails the test naming the ports still served."""
    wait_until(
        lambda: not answering_service_ports(),
        within=within,
        what=lambda: f"ports {answering_service_ports()} quiet (stop whatever serves them first)",
    )
