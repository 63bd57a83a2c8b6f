"""Pools drop connections the server ended, without an empty query on healthy ones."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from ring_runtime.connections import still_connected
from ring_runtime.settings import load_settings
from ring_runtime.store import RingApplication, create_application


def test_a_connection_the_server_ended_is_replaced(postgres_url: str) -> None:
    pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
        postgres_url, min_size=1, max_size=1, check=still_connected, open=True
    )
    try:
        with pool.connection() as conn:
            ended = conn.execute("SELECT pg_backend_pid()").fetchone()
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", ended)
        time.sleep(0.3)  # the server's notice and the closed socket reach the client
        with pool.connection() as conn:
            fresh = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert fresh != ended
    finally:
        pool.close()


def test_a_healthy_connection_passes_without_a_statement(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("SELECT 1")
        still_connected(conn)  # no query: it would show in the connection's result status
        assert conn.pgconn.get_result() is None
        assert conn.execute("SELECT 2").fetchone() == (2,)


def test_the_event_store_pool_checks_without_a_round_trip(
    postgres_url: str, db_schema: str, tmp_path: Path
) -> None:
    settings = load_settings(
        "task",
        {
            "RING_DATABASE_URL": postgres_url,
            "RING_DB_SCHEMA": db_schema,
            "RING_DATA_DIR": str(tmp_path),
        },
    )
    app = create_application(RingApplication, settings)
    try:
        pool = app.process_recorder.datastore.pool
        assert pool._check is still_connected
    finally:
        app.close()
