"""deploy/compose/postgres-roles.sh run for real: each service's role reaches only its schema."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ring_runtime.embedded import EmbeddedPostgres
from ring_runtime.embedded.postgres import postgres_bin_dir
from ring_runtime.projection import ProjectionStore
from ring_runtime.settings import BASE_SERVICE_PORTS, DatabaseAddress
from ring_runtime.store import ensure_schema

from .support import ROOT, run

SCRIPT = ROOT / "deploy" / "compose" / "postgres-roles.sh"
PASSWORDS = {name: f"{name}-password-0123456789" for name in BASE_SERVICE_PORTS}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseAddress]:
    """A fresh PostgreSQL cluster on which the script has run, as the image's init step does."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("roles") / "pg", _free_port())
    server.start()
    try:
        address = DatabaseAddress.parse(server.url)
        env = {
            "PATH": f"{postgres_bin_dir()}:{os.environ['PATH']}",
            "PGHOST": address.host,
            "PGPORT": str(address.port),
            "POSTGRES_USER": address.user,
            "POSTGRES_DB": address.dbname,
            **{f"POSTGRES_{n.upper()}_PASSWORD": p for n, p in PASSWORDS.items()},
        }
        result = run(["sh", SCRIPT], env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        yield address
    finally:
        server.stop()


def _as(database: DatabaseAddress, service: str) -> str:
    return DatabaseAddress(
        host=database.host,
        port=database.port,
        user=f"ring_{service}",
        password=PASSWORDS[service],
        dbname=database.dbname,
    ).url()


def test_a_service_role_sets_up_its_own_store(database: DatabaseAddress) -> None:
    url = _as(database, "task")
    ensure_schema(url, "task")  # what create_application does first
    store = ProjectionStore(url, "task", "roles_check")
    store.open(["CREATE TABLE IF NOT EXISTS task.roles_check_rows (id int PRIMARY KEY)"])
    store.close()


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 1 FROM pg_catalog.pg_class WHERE false UNION ALL SELECT 1 FROM ledger.secrets",
        "CREATE TABLE ledger.planted (id int)",
        "CREATE SCHEMA elsewhere",
        "CREATE TABLE public.planted (id int)",
    ],
)
def test_a_service_role_cannot_touch_anything_else(
    database: DatabaseAddress, statement: str
) -> None:
    with psycopg.connect(database.url(), autocommit=True) as admin:
        admin.execute("CREATE TABLE IF NOT EXISTS ledger.secrets (amount bigint)")
    with (
        psycopg.connect(_as(database, "task"), autocommit=True) as task,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        task.execute(statement)


def test_a_missing_password_stops_the_script(tmp_path: Path) -> None:
    result = run(["sh", SCRIPT], env={"PATH": os.environ["PATH"]})
    assert result.returncode != 0
    assert "POSTGRES_" in result.stderr
    assert "ring keys" in result.stderr
