"""Read models in PostgreSQL tables, updated exactly once with their tracking positions.

A :class:`ProjectionStore` owns some tables in the service schema and a tracking table of its
own. :meth:`ProjectionStore.apply` runs a handler inside one transaction that also advances the
tracking row, so a read model never shows an effect twice or loses one.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing.persistence import IntegrityError, Tracking
from psycopg.rows import dict_row
from psycopg.sql import SQL, Composed, Identifier
from psycopg_pool import ConnectionPool

from ring_runtime.connections import still_connected
from ring_runtime.store import create_schema_sql

_connection: contextvars.ContextVar[psycopg.Connection[dict[str, Any]] | None] = (
    contextvars.ContextVar("ring_projection_connection", default=None)
)


class ProjectionStore:
    """Tables of one read model plus its tracking rows, in one schema."""

    def __init__(self, database_url: str, schema: str, name: str) -> None:
        self.schema = schema
        self.name = name
        self._tracking = SQL("{}.{}").format(Identifier(schema), Identifier(f"{name}_tracking"))
        self._pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] = ConnectionPool(
            database_url,
            min_size=1,
            max_size=8,
            # Autocommit: a read is one statement, not BEGIN, SELECT, COMMIT; writes that must
            # commit together say so with ``conn.transaction()`` (as :meth:`apply` does).
            kwargs={"row_factory": dict_row, "autocommit": True},
            open=False,
            check=still_connected,  # drop connections a PostgreSQL restart broke
        )

    def open(self, ddl: Sequence[Composed | str] = ()) -> None:
        """Open the pool and create the tracking table and the read model's tables."""
        self._pool.open(wait=True)
        with self._pool.connection() as conn:
            conn.execute(create_schema_sql(self.schema))
            conn.execute(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} (application_name text PRIMARY KEY, "
                    "notification_id bigint NOT NULL)"
                ).format(self._tracking)
            )
            for statement in ddl:
                conn.execute(SQL(statement) if isinstance(statement, str) else statement)

    def close(self) -> None:
        """Close the connection pool."""
        self._pool.close()

    def table(self, name: str) -> Composed:
        """The qualified identifier of table ``name`` in this store's schema."""
        return SQL("{}.{}").format(Identifier(self.schema), Identifier(name))

    def position(self, tracking_name: str) -> int:
        """Last applied notification id under ``tracking_name`` (0 when none)."""
        with self._pool.connection() as conn:
            row = conn.execute(
                SQL("SELECT notification_id FROM {} WHERE application_name = %s").format(
                    self._tracking
                ),
                (tracking_name,),
            ).fetchone()
        return int(row["notification_id"]) if row else 0

    def latest_position(self, prefix: str) -> int:
        """The highest position recorded under any tracking name starting with ``prefix``."""
        with self._pool.connection() as conn:
            row = conn.execute(
                SQL(
                    "SELECT max(notification_id) AS n FROM {} WHERE starts_with(application_name, %s)"
                ).format(self._tracking),
                (prefix,),
            ).fetchone()
        return int(row["n"]) if row and row["n"] is not None else 0

    def positions(self, tracking_names: Sequence[str]) -> dict[str, int]:
        """Last applied notification id of each name that has one, in one query."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT application_name, notification_id FROM {} "
                    "WHERE application_name = ANY(%s)"
                ).format(self._tracking),
                (list(tracking_names),),
            ).fetchall()
        return {row["application_name"]: int(row["notification_id"]) for row in rows}

    def positions_under(self, prefixes: Sequence[str]) -> dict[str, int]:
        """Every tracking row whose name starts with one of ``prefixes`` (a consumer's rows, one
        per upstream aggregate), with its position."""
        with self._pool.connection() as conn:
            return self._positions_under(conn, prefixes)

    @contextmanager
    def held(self, prefixes: Sequence[str]) -> Iterator[dict[str, int]]:
        """Keep the read model where it stands for the block, and yield the positions of the
        rows under ``prefixes``: the tracking table is locked against writes, so every
        consumer of this store waits (its readers do not). Keep the block short."""
        with self._pool.connection() as conn, conn.transaction():
            # SHARE conflicts with the ROW EXCLUSIVE every :meth:`apply` takes first, so once it
            # is granted no apply is half done and none can start.
            conn.execute(SQL("LOCK TABLE {} IN SHARE MODE").format(self._tracking))
            yield self._positions_under(conn, prefixes)

    def _positions_under(
        self, conn: psycopg.Connection[dict[str, Any]], prefixes: Sequence[str]
    ) -> dict[str, int]:
        rows = conn.execute(
            SQL(
                "SELECT application_name, notification_id FROM {} WHERE application_name ^@ ANY(%s)"
            ).format(self._tracking),
            (list(prefixes),),
        ).fetchall()
        return {row["application_name"]: int(row["notification_id"]) for row in rows}

    def apply(self, tracking: Tracking, work: Callable[[], None]) -> None:
        """Run ``work`` (which writes through :meth:`connection`) and advance ``tracking``.

        Raises:
            IntegrityError: ``tracking`` does not advance the recorded position.
        """
        with self._pool.connection() as conn, conn.transaction():
            self._advance(conn, tracking)
            token = _connection.set(conn)
            try:
                work()
            finally:
                _connection.reset(token)

    def advance(self, tracking: Tracking) -> None:
        """Advance ``tracking`` for a message without effect, in one autocommit statement.

        Raises:
            IntegrityError: ``tracking`` does not advance the recorded position.
        """
        with self._pool.connection() as conn:
            self._advance(conn, tracking)

    def _advance(self, conn: psycopg.Connection[dict[str, Any]], tracking: Tracking) -> None:
        row = conn.execute(
            SQL(
                "INSERT INTO {t} VALUES (%s, %s) ON CONFLICT (application_name) DO UPDATE "
                "SET notification_id = EXCLUDED.notification_id "
                "WHERE {t}.notification_id < EXCLUDED.notification_id RETURNING 1"
            ).format(t=self._tracking),
            (tracking.application_name, tracking.notification_id),
        ).fetchone()
        if row is None:
            raise IntegrityError(f"position {tracking} does not advance")

    @contextmanager
    def reading(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """A connection for queries of the read model."""
        with self._pool.connection() as conn:
            yield conn

    @staticmethod
    def connection() -> psycopg.Connection[dict[str, Any]]:
        """The connection of the transaction :meth:`apply` is running."""
        conn = _connection.get()
        if conn is None:
            raise RuntimeError("projection writes must run inside ProjectionStore.apply")
        return conn
