"""The PostgreSQL process recorder Ring uses: eventsourcing's, plus each event's context.

The context (correlation, causation, traceparent, acting user) of every stored event is written to
``<name>_event_context`` in the same transaction as the event, so the relay can publish it in
Kafka headers without a second write that could be lost.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from ring_runtime.connections import check_without_round_trip
from ring_runtime.context import current_event_context, current_traceparent
from ring_runtime.ddl import columns_changed

#: Lifecycle correlations a recorder remembers before it starts again from none.
REMEMBERED_CORRELATIONS = 10_000


class RingProcessRecorder(PostgresProcessRecorder):
    """Process recorder that also stores each event's :class:`EventContext`."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
        tracking_table_name: str = "notification_tracking",
    ):
        super().__init__(
            datastore,
            events_table_name=events_table_name,
            tracking_table_name=tracking_table_name,
        )
        check_without_round_trip(datastore.pool)  # not an empty query per connection taken
        self._first_correlations: dict[UUID, str] = {}
        if datastore.lock_timeout == 0:
            # eventsourcing sets ``lock_timeout`` before it locks the events table in every
            # save; at 0 (no timeout, PostgreSQL's default) that statement changes nothing.
            self.lock_table_statements = [
                SQL("LOCK TABLE {}.{} IN EXCLUSIVE MODE").format(
                    Identifier(datastore.schema), Identifier(events_table_name)
                )
            ]
        self.context_table_name = events_table_name.removesuffix("_events") + "_event_context"
        self.check_identifier_length(self.context_table_name)
        context = {
            "schema": Identifier(self.datastore.schema),
            "table": Identifier(self.context_table_name),
        }
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                "originator_id uuid NOT NULL, "
                "originator_version bigint NOT NULL, "
                "correlation_id text NOT NULL, "
                "causation_id text NOT NULL, "
                "traceparent text, "
                "actor text, "
                "PRIMARY KEY (originator_id, originator_version))"
            ).format(**context)
        )
        # Stores created before the actor was kept (only when missing: see ring_runtime.ddl).
        self.sql_create_statements.append(
            columns_changed(self.datastore.schema, self.context_table_name, added={"actor": "text"})
        )
        # One statement per save, whatever its number of events (they share their context).
        self._insert_context = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, correlation_id, "
            "causation_id, traceparent, actor) SELECT e.id, e.version, %s::text, %s::text, "
            "%s::text, %s::text FROM unnest(%s::uuid[], %s::bigint[]) AS e(id, version) "
            "ON CONFLICT DO NOTHING"
        ).format(**context)

    def _notify_channel(self, curs: Cursor[DictRow]) -> None:
        """Send no ``NOTIFY`` of eventsourcing's: nothing listens to it, and it is one more
        statement in every save. The relay wakes on a trigger of its own
        (:mod:`ring_runtime.wakeup`)."""

    def _insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        if not stored_events:
            return
        context = current_event_context()
        # The span saving the events (the store save span) is the parent of their publish.
        traceparent = current_traceparent() or context.traceparent
        curs.execute(
            self._insert_context,
            (
                context.correlation_id,
                context.causation_id,
                traceparent,
                context.actor,
                [event.originator_id for event in stored_events],
                [event.originator_version for event in stored_events],
            ),
        )

    @contextmanager
    def _reading(self) -> Iterator[Cursor[DictRow]]:
        """A cursor on an autocommit connection: one statement, no ``BEGIN … ROLLBACK``.

        Not ``datastore.transaction(commit=False)``: its ``ROLLBACK`` makes psycopg forget
        every statement it had prepared on the connection (``DEALLOCATE ALL``), so the next
        event insert and tracking lookup on it are parsed and planned again.
        """
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            yield curs

    def advance(self, tracking: Tracking) -> None:
        """Record ``tracking`` in one autocommit statement (a position without events).

        Raises:
            IntegrityError: ``tracking`` does not advance the recorded position.
        """
        with self._reading() as curs:
            self._insert_tracking(curs, tracking)

    def first_correlation(self, originator_id: UUID) -> str | None:
        """The correlation id the first event of ``originator_id`` was recorded under.

        Remembered once found: a recorded event's context never changes, and every save in a
        lifecycle asks for it.
        """
        known = self._first_correlations.get(originator_id)
        if known is not None:
            return known
        statement = SQL(
            "SELECT correlation_id FROM {}.{} WHERE originator_id = %s "
            "ORDER BY originator_version LIMIT 1"
        ).format(Identifier(self.datastore.schema), Identifier(self.context_table_name))
        with self._reading() as curs:
            curs.execute(statement, (originator_id,))
            row = curs.fetchone()
        if row is None:
            return None
        if len(self._first_correlations) >= REMEMBERED_CORRELATIONS:
            self._first_correlations.clear()
        correlation = self._first_correlations[originator_id] = str(row["correlation_id"])
        return correlation

    def max_tracking_id_under(self, prefix: str) -> int:
        """The highest notification id tracked under any name starting with ``prefix``."""
        statement = SQL(
            "SELECT MAX(notification_id) AS n FROM {}.{} WHERE starts_with(application_name, %s)"
        ).format(Identifier(self.datastore.schema), Identifier(self.tracking_table_name))
        with self._reading() as curs:
            curs.execute(statement, (prefix,))
            row = curs.fetchone()
            return int(row["n"]) if row and row["n"] is not None else 0

    def max_tracking_ids(self, application_names: Sequence[str]) -> dict[str, int]:
        """The last tracked notification id of each name that has one, in one query."""
        statement = SQL(
            "SELECT application_name, MAX(notification_id) AS n FROM {}.{} "
            "WHERE application_name = ANY(%s) GROUP BY application_name"
        ).format(Identifier(self.datastore.schema), Identifier(self.tracking_table_name))
        with self._reading() as curs:
            curs.execute(statement, (list(application_names),))
            return {row["application_name"]: int(row["n"]) for row in curs.fetchall()}
