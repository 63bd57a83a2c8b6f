"""On real PostgreSQL: adding the columns an older table lacks, without locking a live one."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from ring_runtime.ddl import columns_changed

pytestmark = pytest.mark.integration


def columns(conn: psycopg.Connection[tuple[str]], schema: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
        "AND table_name = 'old' ORDER BY ordinal_position",
        (schema,),
    ).fetchall()
    return [row[0] for row in rows]


def test_an_older_table_gains_the_missing_columns_and_loses_the_dropped_ones(
    postgres_url: str, db_schema: str
) -> None:
    change = columns_changed(
        db_schema,
        "old",
        added={"note": "text", "count": "int NOT NULL DEFAULT 0"},
        dropped=["gone"],
    )
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        table = SQL("{}.old").format(Identifier(db_schema))
        conn.execute(SQL("CREATE TABLE {} (id int PRIMARY KEY, gone text)").format(table))
        conn.execute(SQL("INSERT INTO {} (id) VALUES (1)").format(table))
        conn.execute(change)
        conn.execute(change)  # a second start finds nothing to do
        assert columns(conn, db_schema) == ["id", "note", "count"]
        row = conn.execute(SQL("SELECT note, count FROM {}").format(table)).fetchone()
        assert row == (None, 0)


def test_nothing_to_change_waits_for_no_lock_of_a_live_transaction(
    postgres_url: str, db_schema: str
) -> None:
    """A process starting beside a live one: ``ADD COLUMN IF NOT EXISTS`` would queue for an
    ACCESS EXCLUSIVE lock behind the open write (and deadlock with it in CI)."""
    with (
        psycopg.connect(postgres_url, autocommit=True) as setup,
        psycopg.connect(postgres_url) as live,
        psycopg.connect(postgres_url, autocommit=True) as starting,
    ):
        table = SQL("{}.old").format(Identifier(db_schema))
        setup.execute(SQL("CREATE TABLE {} (id int PRIMARY KEY, note text)").format(table))
        live.execute(SQL("INSERT INTO {} (id) VALUES (1)").format(table))  # left open
        starting.execute("SET lock_timeout = '1s'")
        starting.execute(columns_changed(db_schema, "old", added={"note": "text"}))
        with pytest.raises(psycopg.errors.LockNotAvailable):  # what the old statement did
            starting.execute(SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS note text").format(table))
        live.rollback()
