"""Local projections: a service's own domain events applied to its own tables, exactly once.

An :class:`OwnEventsFollower` reads the notification log of the service's application in order
(gapless in commit order there, see decision 0001 §6) and applies each event together with its
position in one transaction, so neither a read-model row nor a timer it schedules can be lost
or doubled, even across restarts. Used for indexes and durable timers (decision 0005).

A follower applies either each event with its handler (one statement or so per event), or a
whole batch at once (:meth:`OwnEventsFollower.in_batches`): a read model whose events fold into
few rows (the ledger's books: sums per account) then writes one statement per table per batch,
and catching up with a long log costs a few round trips per thousand events instead of one per
event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Composed

from ring_runtime.projection import ProjectionStore
from ring_runtime.resilience import OUTAGE_RETRY_CAP, Backoff, TaskHealth
from ring_runtime.store import RingApplication

log = logging.getLogger("ring.local_projection")

#: Applies one domain event inside the follower's transaction.
LocalHandler = Callable[[Any, psycopg.Connection[dict[str, Any]]], None]
#: Applies a batch of domain events, in log order, inside the follower's transaction.
BatchHandler = Callable[[Sequence[Any], psycopg.Connection[dict[str, Any]]], None]


class OwnEventsFollower:
    """Applies the application's own domain events to local tables, each exactly once."""

    def __init__(
        self,
        name: str,
        application: RingApplication,
        store: ProjectionStore,
        handlers: Mapping[type[Any], LocalHandler],
        *,
        batch_size: int = 200,
    ) -> None:
        self.name = name
        self.application = application
        self.store = store
        self.handlers = dict(handlers)
        self.batch_size = batch_size
        self.positions = store.table("local_positions")
        self._topics = [get_topic(cls) for cls in self.handlers]
        self._apply: BatchHandler = self._each
        self._stopping = asyncio.Event()
        self.health = TaskHealth()

    @classmethod
    def in_batches(
        cls,
        name: str,
        application: RingApplication,
        store: ProjectionStore,
        event_types: Iterable[type[Any]],
        apply: BatchHandler,
        *,
        batch_size: int = 1_000,
    ) -> OwnEventsFollower:
        """A follower handing each batch of ``event_types`` events to ``apply`` at once."""
        follower = cls(name, application, store, {}, batch_size=batch_size)
        follower._topics = [get_topic(event_type) for event_type in event_types]
        follower._apply = apply
        return follower

    def ddl(self) -> list[Composed]:
        """Statement creating the position table."""
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, notification_id bigint NOT NULL)"
            ).format(self.positions)
        ]

    def catch_up(
        self, *, until: int | None = None, progress: Callable[[int], None] | None = None
    ) -> int:
        """Apply every event recorded since the last call; returns how many were applied.

        Concurrent callers (threads, replicas) serialize on the position row. ``until`` stops at
        that notification id (a rebuild matching a live copy); ``progress`` is told of every
        batch applied.
        """
        applied = 0
        while True:
            with self.store.reading() as conn, conn.transaction():
                count = self._apply_batch(conn, self._lock_position(conn), until)
            applied += count
            if progress is not None and count:
                progress(count)
            if count < self.batch_size:
                return applied

    @contextmanager
    def caught_up(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """A transaction in which the tables hold every event committed so far, and only whole
        saves: reads in it see a state the log actually passed through.

        The position row stays locked until the block ends, so keep the block short.
        """
        with self.store.reading() as conn, conn.transaction():
            position = self._lock_position(conn)
            while self._apply_batch(conn, position) == self.batch_size:
                position = self._lock_position(conn)
            yield conn

    @contextmanager
    def held(self) -> Iterator[int]:
        """Keep the tables where they are (the position row locked) for the block; yields the
        position they stand at. Appliers and readers wait meanwhile: keep it short."""
        with self.store.reading() as conn, conn.transaction():
            yield self._lock_position(conn)

    def _lock_position(self, conn: psycopg.Connection[dict[str, Any]]) -> int:
        lock = SQL("SELECT notification_id FROM {} WHERE name = %s FOR UPDATE").format(
            self.positions
        )
        row = conn.execute(lock, (self.name,)).fetchone()
        if row is None:  # the first time only: not an insert at every catch-up and read
            conn.execute(
                SQL("INSERT INTO {} VALUES (%s, 0) ON CONFLICT DO NOTHING").format(self.positions),
                (self.name,),
            )
            row = conn.execute(lock, (self.name,)).fetchone()
        assert row is not None
        return int(row["notification_id"])

    def _apply_batch(
        self, conn: psycopg.Connection[dict[str, Any]], position: int, until: int | None = None
    ) -> int:
        if until is not None and position >= until:
            return 0
        notifications = self.application.recorder.select_notifications(
            start=position,
            limit=self.batch_size,
            stop=until,
            topics=self._topics,
            inclusive_of_start=False,
        )
        if notifications:
            to_domain_event = self.application.mapper.to_domain_event
            self._apply([to_domain_event(notification) for notification in notifications], conn)
            conn.execute(
                SQL("UPDATE {} SET notification_id = %s WHERE name = %s").format(self.positions),
                (notifications[-1].id, self.name),
            )
        return len(notifications)

    def _each(self, events: Sequence[Any], conn: psycopg.Connection[dict[str, Any]]) -> None:
        for domain_event in events:
            self.handlers[type(domain_event)](domain_event, conn)

    async def run(self, interval: float) -> None:
        """Catch up every ``interval`` seconds until :meth:`stop`.

        A failure (PostgreSQL down) is retried with a growing delay; :attr:`health` shows it.
        """
        backoff = Backoff(initial=interval, maximum=max(interval, OUTAGE_RETRY_CAP))
        while not self._stopping.is_set():
            wait = interval
            try:
                await asyncio.to_thread(self.catch_up)
            except Exception as error:  # an outage must not end the follower
                self.health.failed(error)
                wait = backoff.next()
                log.warning(
                    "%s: catching up failed (%r); trying again in %.1f s", self.name, error, wait
                )
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
