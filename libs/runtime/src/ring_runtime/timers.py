"""Durable timers: "run this command for that aggregate at that instant", surviving restarts.

A timer is a row of the ``timers`` table in the service schema. Its id is derived from
``(purpose, aggregate_id)``, so scheduling the same timer twice is a no-op, and a service can
schedule it from a replayed event stream without doubling it. Schedule a timer in the same
transaction as the state that needs it (pass that transaction's connection), e.g. in a local
projection of the service's own events: then a timer can never be lost.

:meth:`DurableTimers.fire_due` claims due timers with ``SELECT … FOR UPDATE SKIP LOCKED`` (so
replicas never fire the same timer concurrently), runs the handler registered for the timer's
purpose, and marks the timer fired in the claiming transaction. A crash between the handler's
effect and that commit fires the timer again after the restart, so **handlers must be
idempotent** (approving an already decided voucher is a no-op): the *effect* happens once.
A handler that raises is retried later with a growing delay; the error is kept on the row.

Time comes from an injected :class:`Clock`; tests use :class:`ManualClock` and call
``fire_due()`` themselves instead of sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID, uuid5

import psycopg
from opentelemetry import trace
from psycopg.rows import dict_row
from psycopg.sql import SQL, Composed, Identifier
from psycopg_pool import ConnectionPool

from ring_runtime.connections import still_connected
from ring_runtime.resilience import OUTAGE_RETRY_CAP, Backoff, TaskHealth
from ring_runtime.store import create_schema_sql

log = logging.getLogger("ring.timers")
_tracer = trace.get_tracer("ring.timers")

#: Namespace of deterministic timer ids (uuid5 of purpose and aggregate id).
TIMER_ID_NAMESPACE = UUID("0d7c3f4e-8a51-4c8e-9b1f-6f2e5a9d3c71")
#: First retry delay of a failing handler; doubles per attempt up to :data:`MAX_RETRY_DELAY`.
FIRST_RETRY_DELAY = timedelta(seconds=5)
#: Longest wait before a failing handler is tried again.
MAX_RETRY_DELAY = timedelta(hours=1)

Connection = psycopg.Connection[dict[str, Any]]


class Clock(Protocol):
    """Where "now" comes from."""

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: for tests and simulations."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock's instants must be timezone-aware")
        self._now = start

    def now(self) -> datetime:
        """The instant the clock was set or advanced to."""
        return self._now

    def advance(self, by: timedelta) -> datetime:
        """Move the clock forward by ``by``; returns the new instant."""
        self._now += by
        return self._now


@dataclass(frozen=True)
class Timer:
    """A due timer handed to its handler."""

    id: UUID
    purpose: str
    aggregate_id: UUID
    due_at: datetime
    attempts: int


#: Runs the command a timer stands for; must be idempotent (see the module docstring).
TimerHandler = Callable[[Timer], None]


def timer_id(purpose: str, aggregate_id: UUID) -> UUID:
    """The id of the timer of ``purpose`` for ``aggregate_id`` (the same on every call)."""
    return uuid5(TIMER_ID_NAMESPACE, f"{purpose}:{aggregate_id}")


class DurableTimers:
    """The ``timers`` table of one service schema: schedule, cancel, fire."""

    def __init__(
        self,
        database_url: str,
        schema: str,
        clock: Clock,
        handlers: Mapping[str, TimerHandler],
        *,
        batch_size: int = 100,
    ) -> None:
        """Args:
        database_url: PostgreSQL URL.
        schema: the service schema holding the ``timers`` table.
        clock: source of "now" for due checks and bookkeeping.
        handlers: purpose → handler run when a timer of that purpose is due.
        batch_size: timers claimed per transaction by :meth:`fire_due`.
        """
        self.clock = clock
        self.handlers = dict(handlers)
        self.batch_size = batch_size
        self.schema = schema
        self.table = SQL("{}.{}").format(Identifier(schema), Identifier("timers"))
        self._stopping = asyncio.Event()
        self.health = TaskHealth()
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            database_url,
            min_size=1,
            max_size=4,
            # Autocommit: a lone write or read is one statement; claims open a transaction.
            kwargs={"row_factory": dict_row, "autocommit": True},
            open=False,
            check=still_connected,  # drop connections a PostgreSQL restart broke
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def ddl(self) -> list[Composed]:
        """Statements creating the table and the index of pending timers."""
        return [
            create_schema_sql(self.schema),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                "id uuid PRIMARY KEY, purpose text NOT NULL, aggregate_id uuid NOT NULL, "
                "due_at timestamptz NOT NULL, scheduled_at timestamptz NOT NULL, "
                "fired_at timestamptz, cancelled_at timestamptz, "
                "attempts int NOT NULL DEFAULT 0, last_error text)"
            ).format(self.table),
            SQL(
                "CREATE INDEX IF NOT EXISTS timers_pending ON {} (due_at) "
                "WHERE fired_at IS NULL AND cancelled_at IS NULL"
            ).format(self.table),
        ]

    def open(self) -> None:
        """Open the connection pool and create the table if missing."""
        self._pool.open(wait=True)
        with self._pool.connection() as conn:
            for statement in self.ddl():
                conn.execute(statement)

    def close(self) -> None:
        """Close the connection pool (call :meth:`stop` first when :meth:`run` is running)."""
        self._pool.close()

    # -- scheduling ------------------------------------------------------------------------

    def schedule(
        self,
        purpose: str,
        aggregate_id: UUID,
        due_at: datetime,
        conn: Connection | None = None,
    ) -> UUID:
        """Make sure a timer of ``purpose`` for ``aggregate_id`` exists; returns its id.

        Idempotent: an existing timer (pending, fired or cancelled) is left as it is. Pass
        ``conn`` to schedule inside a transaction that is already open.
        """
        if due_at.tzinfo is None:
            raise ValueError("due_at must be timezone-aware")
        new_id = timer_id(purpose, aggregate_id)
        statement = SQL(
            "INSERT INTO {} (id, purpose, aggregate_id, due_at, scheduled_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
        ).format(self.table)
        self._execute(conn, statement, (new_id, purpose, aggregate_id, due_at, self.clock.now()))
        return new_id

    def cancel(self, purpose: str, aggregate_id: UUID, conn: Connection | None = None) -> None:
        """Cancel the timer if it has not fired yet; no-op otherwise (or when none exists)."""
        statement = SQL(
            "UPDATE {} SET cancelled_at = %s "
            "WHERE id = %s AND fired_at IS NULL AND cancelled_at IS NULL"
        ).format(self.table)
        self._execute(conn, statement, (self.clock.now(), timer_id(purpose, aggregate_id)))

    def pending(self, purpose: str, aggregate_id: UUID) -> datetime | None:
        """When the timer is due, or ``None`` if it does not exist, fired or was cancelled."""
        with self._pool.connection() as conn:
            row = conn.execute(
                SQL(
                    "SELECT due_at FROM {} WHERE id = %s AND fired_at IS NULL "
                    "AND cancelled_at IS NULL"
                ).format(self.table),
                (timer_id(purpose, aggregate_id),),
            ).fetchone()
        return row["due_at"] if row else None

    def due_counts(self, overdue_after_seconds: float) -> tuple[int, int]:
        """How many pending timers are due now, and how many of them have been due for more
        than ``overdue_after_seconds`` (a poller down or a handler failing again and again)."""
        now = self.clock.now()
        with self._pool.connection() as conn:
            row = conn.execute(
                SQL(
                    "SELECT count(*) AS due, count(*) FILTER (WHERE due_at <= %s) AS overdue "
                    "FROM {} WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= %s"
                ).format(self.table),
                (now - timedelta(seconds=overdue_after_seconds), now),
            ).fetchone()
        return (int(row["due"]), int(row["overdue"])) if row else (0, 0)

    # -- firing ----------------------------------------------------------------------------

    def fire_due(self) -> int:
        """Run every timer due by the clock's now; returns how many fired.

        Each batch is claimed with ``FOR UPDATE SKIP LOCKED`` and marked fired in the same
        transaction, so concurrent pollers (replicas) never run one timer at the same time.
        """
        fired = 0
        while True:
            claimed, succeeded = self._fire_batch()
            fired += succeeded
            if claimed < self.batch_size:
                return fired

    def _fire_batch(self) -> tuple[int, int]:
        now = self.clock.now()
        succeeded = 0
        with self._pool.connection() as conn, conn.transaction():
            rows = conn.execute(
                SQL(
                    "SELECT id, purpose, aggregate_id, due_at, attempts FROM {} "
                    "WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= %s "
                    "ORDER BY due_at, id LIMIT %s FOR UPDATE SKIP LOCKED"
                ).format(self.table),
                (now, self.batch_size),
            ).fetchall()
            for row in rows:
                timer = Timer(**row)
                error = self._run(timer)
                if error is None:
                    conn.execute(
                        SQL(
                            "UPDATE {} SET fired_at = %s, attempts = attempts + 1 WHERE id = %s"
                        ).format(self.table),
                        (now, timer.id),
                    )
                    succeeded += 1
                else:
                    conn.execute(
                        SQL(
                            "UPDATE {} SET due_at = %s, attempts = attempts + 1, last_error = %s "
                            "WHERE id = %s"
                        ).format(self.table),
                        (now + _retry_delay(timer.attempts + 1), error[:2000], timer.id),
                    )
        return len(rows), succeeded

    def _run(self, timer: Timer) -> str | None:
        handler = self.handlers.get(timer.purpose)
        if handler is None:
            return f"no handler for timer purpose {timer.purpose!r}"
        try:
            with _tracer.start_as_current_span(
                f"timer {timer.purpose}", attributes={"ring.timer.id": str(timer.id)}
            ):
                handler(timer)
        except Exception as error:  # a failing command must not stop the other timers
            log.exception("timer %s (%s of %s) failed", timer.id, timer.purpose, timer.aggregate_id)
            return f"{type(error).__name__}: {error}"
        return None

    async def run(self, interval: float) -> None:
        """Fire due timers every ``interval`` seconds until :meth:`stop`.

        A failure (PostgreSQL down) is retried with a growing delay; :attr:`health` shows it.
        """
        backoff = Backoff(initial=interval, maximum=max(interval, OUTAGE_RETRY_CAP))
        while not self._stopping.is_set():
            wait = interval
            try:
                await asyncio.to_thread(self.fire_due)
            except Exception as error:  # an outage must not end the poller
                self.health.failed(error)
                wait = backoff.next()
                log.warning("firing timers failed (%r); trying again in %.1f s", error, wait)
            else:
                self.health.recovered()
                backoff.reset()
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=wait)
            except TimeoutError:
                continue

    def stop(self) -> None:
        """Ask :meth:`run` to return (call from the event loop running it)."""
        self._stopping.set()

    def _execute(
        self, conn: Connection | None, statement: Composed, params: tuple[Any, ...]
    ) -> None:
        if conn is not None:
            conn.execute(statement, params)
            return
        with self._pool.connection() as own:
            own.execute(statement, params)


def _retry_delay(attempt: int) -> timedelta:
    delay: timedelta = FIRST_RETRY_DELAY * (2 ** min(attempt - 1, 20))
    return min(delay, MAX_RETRY_DELAY)
