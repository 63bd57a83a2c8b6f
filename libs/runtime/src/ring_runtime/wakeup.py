"""Wake the loops that follow a service's store when events commit, instead of polling it
(decision 0009).

A statement-level trigger on the service's events table sends ``NOTIFY`` on a channel of its
schema; PostgreSQL delivers it when the writing transaction commits, once per transaction. The
relay awaits :meth:`CommitSignal.wait` where it used to sleep: it wakes within a millisecond of
a commit, and still after ``RING_RELAY_POLL_INTERVAL_MS`` at the latest, so a lost notification
(or a listener that could not connect) costs no more than a poll.

The other loops that follow the store (local projections, the audit chainer) are paced by
:class:`Pace`: they wake on the process's own saves (:class:`ring_runtime.long_poll.Changes`),
not more often than they used to poll, and otherwise only at a long backstop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.sql import SQL, Identifier, Literal

if TYPE_CHECKING:
    from ring_runtime.long_poll import Changes

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


class Pace:
    """When a background loop that follows the store runs its next round.

    Profiled idle, each such loop cost a few queries a second doing nothing (decision 0009).
    Paced, a loop runs a round when the process saved events since its last round began, at
    most once per ``spacing`` (so under load it runs as often as it used to poll, not once per
    save), and otherwise once per ``backstop``: for events the process was not told of (saved
    by a command-line tool or a process without the loop). Saves of another replica need no
    wake-up here: that replica's own loop follows them (they serialise on the store).
    Without ``changes`` (a loop run outside a service process) it polls every ``spacing``.

    Create it on the event loop that runs the background loop.
    """

    def __init__(self, changes: Changes | None, spacing: float, backstop: float) -> None:
        self.spacing = spacing
        self.backstop = backstop if changes is not None else spacing
        self._saved = asyncio.Event()
        self._stopping = asyncio.Event()
        self._began = 0.0
        if changes is not None:
            changes.listen(self._saved.set)

    def round_begins(self) -> None:
        """Note that a round starts now: it sees every save made so far."""
        self._saved.clear()
        self._began = asyncio.get_running_loop().time()

    async def rest(self, after_failure: float | None = None) -> None:
        """Until the next round is due, or :meth:`stop`. After a failed round, ``after_failure``
        seconds (the outage's backoff) instead, saves or not."""
        loop = asyncio.get_running_loop()
        if after_failure is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._saved.wait(), timeout=max(0.0, self._began + self.backstop - loop.time())
                )
            until = self._began + self.spacing
        else:
            until = loop.time() + after_failure
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=max(0.0, until - loop.time()))

    def stop(self) -> None:
        """End the current :meth:`rest` at once."""
        self._stopping.set()
        self._saved.set()
