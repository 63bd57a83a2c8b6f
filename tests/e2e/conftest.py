"""The running platform shared by the e2e modules that drive it over HTTP, and the settings of
the services the cross-service modules run in-process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from ring_runtime.embedded import free_port
from ring_runtime.settings import SERVICE_PORTS, Settings
from ring_runtime.testing import settings_for, wait_service_ports_quiet, wait_until

GATEWAY = f"http://127.0.0.1:{SERVICE_PORTS['gateway']}"
BIN = Path(sys.executable).parent


#: In-process services relay quickly, so a cross-service test waits milliseconds, not seconds.
FAST_RELAY = {"RING_RELAY_POLL_INTERVAL_MS": "20", "RING_RELAY_LOSS_CHECK_INTERVAL_MS": "500"}


@pytest.fixture
def service_settings(postgres_url: str, kafka_bootstrap: str) -> Iterator[Callable[..., Settings]]:
    """``service_settings(name, **environment)``: settings of one in-process service on a fresh
    schema of its own (dropped after the test), relaying quickly; ``environment`` overrides."""
    schemas: list[str] = []

    def settings(service: str, **environment: str) -> Settings:
        schema = f"t_{service}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        schemas.append(schema)
        return settings_for(
            service, postgres_url, kafka_bootstrap, schema, **(FAST_RELAY | environment)
        )

    yield settings
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


# Module scope, not session: every module gets a fresh platform and stops it before the next
# module runs, so test_ring_run.py (which needs the service ports free) can share the session.
@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``ring run`` on the embedded infrastructure; yields the environment the CLI needs."""
    # A service still shutting down from the previous module would keep its port and serve
    # this module's platform.
    wait_service_ports_quiet()
    data = tmp_path_factory.mktemp("ring")
    pg_port = free_port()
    env = {
        **os.environ,
        "RING_DATA_DIR": str(data),
        "RING_EMBEDDED_PG_PORT": str(pg_port),
        "RING_EMBEDDED_KAFKA_PORT": str(free_port()),
        "RING_LOG_LEVEL": "WARNING",
        # Every party of every test signs in from 127.0.0.1: the default 10 a minute per IP
        # would answer 429 to the second test of a module (the limiter has its own unit tests).
        "RING_AUTH_RATE_LIMIT_PER_MINUTE": os.environ.get("RING_AUTH_RATE_LIMIT_PER_MINUTE", "600"),
    }
    log = data / "run.log"
    # The child appends through its own descriptor and the fixture reads the file by path:
    # reading a shared descriptor would move the offset the child writes at.
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(BIN / "ring"), "run"], env=env, stdout=output, stderr=subprocess.STDOUT
        )

    def up() -> bool:
        assert process.poll() is None, _log_tail(log)
        try:
            return httpx.get(f"{GATEWAY}/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, within=150, what=lambda: f"platform ready:\n{_log_tail(log)}\n")
        yield {**env, "RING_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{pg_port}/ring"}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
        wait_service_ports_quiet()


def platform_log(env: dict[str, str]) -> str:
    """The tail of the platform's combined log (for assertion messages)."""
    return _log_tail(Path(env["RING_DATA_DIR"]) / "run.log")
