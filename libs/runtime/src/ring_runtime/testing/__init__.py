"""Test support: pytest fixtures (``ring_runtime.testing.fixtures``) and settings helpers."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from uuid import UUID

from ring_runtime.forkserver import process_name
from ring_runtime.identity import ASSERTION_HEADER, PARTY_A, AssertionSigner, gateway_signer
from ring_runtime.service import service_names
from ring_runtime.settings import Settings, load_settings
from ring_runtime.testing.admins import admin_create
from ring_runtime.testing.polling import eventually, wait_until
from ring_runtime.testing.ports import answering_service_ports, wait_service_ports_quiet
from ring_runtime.testing.sources import kafka_lane

#: Consumer group timings for tests: a group join on Tansu takes half the session timeout.
TEST_KAFKA_TIMINGS = {
    "RING_KAFKA_SESSION_TIMEOUT_MS": "2000",
    "RING_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
}

#: In-process services relay quickly, so a test across them waits milliseconds, not seconds.
FAST_RELAY = {"RING_RELAY_POLL_INTERVAL_MS": "20", "RING_RELAY_LOSS_CHECK_INTERVAL_MS": "500"}

#: What the Kafka lane switches on that Tansu cannot do (production's producer settings).
KAFKA_LANE_SETTINGS = {"RING_KAFKA_ENABLE_IDEMPOTENCE": "true"}


def served_by(pid: int) -> str | None:
    """The Ring service process ``pid`` runs, or ``None``: started as
    ``ring_runtime.commands.serve NAME``, or forked by ``ring run``'s fork server (then only its
    name tells, see :func:`ring_runtime.forkserver.process_name`)."""
    try:
        argv = [
            a.decode(errors="replace")
            for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        ]
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None
    if "ring_runtime.commands.serve" in argv:
        index = argv.index("ring_runtime.commands.serve") + 1
        return argv[index] if index < len(argv) else None
    if "ring_runtime.forkserver" in argv:
        return next((n for n in service_names() if process_name(n) == comm), None)
    return None


def settings_for(
    service: str,
    postgres_url: str,
    kafka_bootstrap: str,
    schema: str,
    **overrides: str,
) -> Settings:
    """Settings of ``service`` pointed at the test servers and schema.

    Args:
        service: service name (``task``, ``ledger``…).
        postgres_url: from the ``postgres_url`` fixture.
        kafka_bootstrap: from the ``kafka_bootstrap`` fixture.
        schema: from the ``db_schema`` fixture.
        **overrides: more variables, by name (``RING_RELAY_BATCH_SIZE="10"``); they win.

    The process environment is not read, so a developer's shell cannot change a test; only the
    Kafka lane (``RING_TEST_BROKER=kafka``) adds :data:`KAFKA_LANE_SETTINGS`.
    """
    environ = {
        "RING_DATABASE_URL": postgres_url,
        "RING_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "RING_DB_SCHEMA": schema,
        **TEST_KAFKA_TIMINGS,
        **(KAFKA_LANE_SETTINGS if kafka_lane() else {}),
        **overrides,
    }
    return load_settings(service, environ=environ)


@cache
def _signer(data_dir: str) -> AssertionSigner:
    return gateway_signer("", data_dir)


def actor_headers(user_id: UUID, role: str = PARTY_A, data_dir: str = ".ring") -> dict[str, str]:
    """Headers of a request the gateway makes for ``user_id`` acting as ``role``.

    Signed with the development key pair under ``data_dir`` (the ``RING_DATA_DIR`` default),
    which is what a service built by :func:`settings_for` verifies with.
    """
    return {ASSERTION_HEADER: _signer(data_dir).sign(user_id, role)}


__all__ = [
    "KAFKA_LANE_SETTINGS",
    "TEST_KAFKA_TIMINGS",
    "actor_headers",
    "admin_create",
    "answering_service_ports",
    "eventually",
    "kafka_lane",
    "served_by",
    "settings_for",
    "wait_service_ports_quiet",
    "wait_until",
]
