"""Tables of the gateway's own schema, reached through its shared connection pool."""

from __future__ import annotations

import time

from psycopg import sql
from psycopg_pool import ConnectionPool

#: At most one purge of expired rows per table per this many seconds (per gateway process).
PURGE_INTERVAL_SECONDS = 600


class PurgedTable:
    """A table whose expired rows are deleted now and then, on the request path.

    Subclasses name the table, give its DDL and say which rows have expired.
    """

    name: str

    def __init__(self, pool: ConnectionPool, schema: str) -> None:
        self._pool = pool
        self._table = sql.Identifier(schema, self.name)
        self._last_purge = 0.0

    def ddl(self) -> list[sql.Composed]:
        """Statements creating the table and its indexes if needed."""
        raise NotImplementedError

    def purge_expired(self) -> None:
        """Delete the rows that have expired."""
        raise NotImplementedError

    def create_table(self) -> None:
        """Run :meth:`ddl` (the pool must be open)."""
        with self._pool.connection() as conn:
            for statement in self.ddl():
                conn.execute(statement)

    def _maybe_purge(self) -> None:
        if time.monotonic() - self._last_purge >= PURGE_INTERVAL_SECONDS:
            self._last_purge = time.monotonic()
            self.purge_expired()
