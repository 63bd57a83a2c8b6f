"""Wake the outbox relay when events commit, instead of polling the store (decision 0009).

A statement-level trigger on the service's events table sends ``NOTIFY`` on a channel of its
schema; PostgreSQL delivers it when the writing transaction commits, once per transaction. The
relay awaits :meth:`CommitSignal.wait` where it used to sleep: it wakes within a millisecond of
a commit, and still after ``RING_RELAY_POLL_INTERVAL_MS`` at the latest, so a lost notification
(or a listener that could not connect) costs no more than the old poll did.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier, Literal

log = logging.getLogger("ring.wakeup")


class CommitSignal:
    """Notifications of commits to one events table, for the relay of its service."""

    def __init__(self, database_url: str, schema: str, events_table: str) -> None:
        self.database_url = database_url
        self.schema = schema
        self.events_table = events_table
        self.channel = f"ring_events_{schema}"
        self._conn: psycopg.AsyncConnection[Any] | None = None

    def install(self, conn: psycopg.Connection[Any]) -> None:
        """Create the trigger (idempotent; run by the relay leader, one at a time)."""
        function = SQL("{}.{}").format(Identifier(self.schema), Identifier("ring_notify_commit"))
        table = SQL("{}.{}").format(Identifier(self.schema), Identifier(self.events_table))
        conn.execute(
            SQL(
                "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN PERFORM pg_notify({channel}, ''); RETURN NULL; END $$"
            ).format(function=function, channel=Literal(self.channel))
        )
        conn.execute(
            SQL(
                "CREATE OR REPLACE TRIGGER ring_notify_commit AFTER INSERT ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            ).format(table=table, function=function)
        )

    async def wait(self, within: float) -> None:
        """Until events commit (or ``within`` seconds pass; at once if some committed since the
        last call)."""
        try:
            if self._conn is None:
                self._conn = await psycopg.AsyncConnection.connect(
                    self.database_url, autocommit=True
                )
                await self._conn.execute(SQL("LISTEN {}").format(Identifier(self.channel)))
            async for _ in self._conn.notifies(timeout=within, stop_after=1):
                break
            # Commits notified meanwhile are all visible to the read that follows: drop their
            # notifications, or each would wake the relay once more to read nothing.
            async for _ in self._conn.notifies(timeout=0):
                pass
        except psycopg.Error as error:
            log.warning("commit notifications unavailable (%r); polling instead", error)
            await self.close()
            await asyncio.sleep(within)

    async def close(self) -> None:
        """Stop listening."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()
