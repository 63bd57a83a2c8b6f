"""The store side of the outbox relay: what to publish next and how far the relay got.

Kept apart from :mod:`ring_runtime.relay` so operator commands (``ring relay lag``,
``ring relay republish``) work without starting a service.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg.rows import dict_row
from psycopg.sql import SQL, Composable, Identifier

from ring_runtime.ddl import columns_changed
from ring_runtime.settings import Settings


class LossMarker(msgspec.Struct, frozen=True):
    """A record the relay wrote to the marker topic; its absence proves the broker lost data.

    The token is random, so no other record can ever be mistaken for this one.
    """

    partition: int
    offset: int
    token: str


class RelayPosition(msgspec.Struct):
    """How far the relay got (last published notification) and its current loss marker."""

    notification_id: int = 0
    marker: LossMarker | None = None


class RelayLog:
    """Reads a service's published events and keeps the relay position, in its schema."""

    def __init__(
        self, settings: Settings, events_prefix: str, topic: str, stored_topics: list[str]
    ):
        """Args:
        settings: the service settings (database and schema).
        events_prefix: eventsourcing table prefix (the application name, lower case).
        topic: the context topic.
        stored_topics: eventsourcing topics of the published domain event classes.
        """
        schema = settings.db_schema
        self.database_url = settings.database_url
        self.topic = topic
        self.stored_topics = stored_topics
        self.batch_size = settings.relay_batch_size
        self._events = SQL("{}.{}").format(
            Identifier(schema), Identifier(f"{events_prefix}_events")
        )
        self._context = SQL("{}.{}").format(
            Identifier(schema), Identifier(f"{events_prefix}_event_context")
        )
        self._schema = schema
        self._position = SQL("{}.{}").format(Identifier(schema), Identifier("relay_position"))
        self._requested = SQL("{}.{}").format(Identifier(schema), Identifier("relay_republish"))
        self.lock_key = f"ring-relay:{schema}:{topic}"

    def connect(self) -> psycopg.Connection[dict[str, Any]]:
        """A new autocommit connection returning rows as dicts (fails fast when unreachable)."""
        return psycopg.connect(
            self.database_url, autocommit=True, row_factory=dict_row, connect_timeout=5
        )

    def create_table(self, conn: psycopg.Connection[dict[str, Any]]) -> None:
        """Create the position table if missing (and move an older one to the loss marker)."""
        conn.execute(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (topic text PRIMARY KEY, "
                "notification_id bigint NOT NULL, loss_marker jsonb, "
                "republish_requested boolean NOT NULL DEFAULT false, "
                "updated_at timestamptz NOT NULL DEFAULT now())"
            ).format(self._position)
        )
        conn.execute(
            columns_changed(
                self._schema, "relay_position", added={"loss_marker": "jsonb"}, dropped=["marks"]
            )
        )
        conn.execute(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (topic text NOT NULL, "
                "notification_id bigint NOT NULL, PRIMARY KEY (topic, notification_id))"
            ).format(self._requested)
        )

    def try_lock(self, conn: psycopg.Connection[dict[str, Any]]) -> bool:
        """Take the session advisory lock making this replica the active relay."""
        row = conn.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 0)) AS locked", (self.lock_key,)
        ).fetchone()
        return bool(row and row["locked"])

    def load(self, conn: psycopg.Connection[dict[str, Any]]) -> RelayPosition:
        """The recorded position (the start of the log when none)."""
        row = conn.execute(
            SQL(
                "SELECT notification_id, loss_marker::text AS marker FROM {} WHERE topic = %s"
            ).format(self._position),
            (self.topic,),
        ).fetchone()
        if row is None:
            return RelayPosition()
        marker = None
        if row["marker"] is not None:
            marker = msgspec.json.decode(row["marker"], type=LossMarker)
        return RelayPosition(notification_id=int(row["notification_id"]), marker=marker)

    def save(self, conn: psycopg.Connection[dict[str, Any]], position: RelayPosition) -> None:
        """Record ``position`` (and clear any republish request it answers)."""
        conn.execute(
            SQL(
                "INSERT INTO {} (topic, notification_id, loss_marker) VALUES (%s, %s, %s) "
                "ON CONFLICT (topic) DO UPDATE SET notification_id = EXCLUDED.notification_id, "
                "loss_marker = EXCLUDED.loss_marker, republish_requested = false, "
                "updated_at = now()"
            ).format(self._position),
            (
                self.topic,
                position.notification_id,
                msgspec.json.encode(position.marker).decode() if position.marker else None,
            ),
        )

    def published_ids(
        self, first: int = 1, aggregate_id: UUID | None = None
    ) -> tuple[list[int], int]:
        """Notification ids of the published events the relay has already sent, from
        ``first`` (only ``aggregate_id``'s when given), and the relay position."""
        with self.connect() as conn:
            self.create_table(conn)
            position = self.load(conn).notification_id
            rows = conn.execute(
                SQL(
                    "SELECT notification_id FROM {} WHERE topic = ANY(%s) "
                    "AND notification_id BETWEEN %s AND %s "
                    "AND (%s::uuid IS NULL OR originator_id = %s::uuid) ORDER BY notification_id"
                ).format(self._events),
                (self.stored_topics, first, position, aggregate_id, aggregate_id),
            ).fetchall()
        return [int(row["notification_id"]) for row in rows], position

    def request_events(self, notification_ids: list[int]) -> None:
        """Ask the active relay to publish these events again (it keeps its position)."""
        with self.connect() as conn:
            self.create_table(conn)
            with conn.cursor() as cursor:
                cursor.executemany(
                    SQL("INSERT INTO {} VALUES (%s, %s) ON CONFLICT DO NOTHING").format(
                        self._requested
                    ),
                    [(self.topic, n) for n in notification_ids],
                )

    def requested_batch(self, conn: psycopg.Connection[dict[str, Any]]) -> list[dict[str, Any]]:
        """The next events an operator asked to publish again, oldest first (as
        :meth:`read_batch` returns them)."""
        return self._select(
            conn,
            SQL(
                "e.notification_id IN (SELECT notification_id FROM {} WHERE topic = %(topic)s "
                "ORDER BY notification_id LIMIT %(limit)s)"
            ).format(self._requested),
            {"topic": self.topic, "limit": self.batch_size},
        )

    def forget_requested(self, conn: psycopg.Connection[dict[str, Any]], upto: int) -> None:
        """Drop the requests answered, up to notification ``upto``."""
        conn.execute(
            SQL("DELETE FROM {} WHERE topic = %s AND notification_id <= %s").format(
                self._requested
            ),
            (self.topic, upto),
        )

    def read_batch(
        self,
        conn: psycopg.Connection[dict[str, Any]],
        after: int,
        aggregates: Collection[str] | None = None,
        *,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Published events after notification ``after`` (only those of ``aggregates`` when
        given), at most ``limit`` (default: the batch size), with their context and the
        notification id of the previous published event of the same aggregate."""
        if aggregates is None:
            return self._select(
                conn, SQL("e.notification_id > %(after)s"), {"after": after}, limit=limit
            )
        return self._select(
            conn,
            SQL("e.notification_id > %(after)s AND e.originator_id = ANY(%(ids)s::uuid[])"),
            {"after": after, "ids": list(aggregates)},
            limit=limit,
        )

    def published_count(self) -> int:
        """How many published events the store holds."""
        with self.connect() as conn:
            row = conn.execute(
                SQL("SELECT count(*) AS n FROM {} WHERE topic = ANY(%s)").format(self._events),
                (self.stored_topics,),
            ).fetchone()
        return int(row["n"]) if row else 0

    def _select(
        self,
        conn: psycopg.Connection[dict[str, Any]],
        where: Composable,
        params: dict[str, Any],
        *,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Published events matching ``where``, oldest first.

        The previous published event of an aggregate is looked up by version on the primary
        key, so it costs the same for every event: notification ids grow with the version
        within an aggregate, but asked as "the highest notification id below this one" the
        planner walked the notification index backwards until it met the aggregate, through
        the whole log for an aggregate's first event (a republish of N events cost O(N²):
        0.27 s per batch of 500 at 20k events, most of the time of a republish).
        """
        query = SQL(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
            "c.correlation_id, c.causation_id, c.traceparent, "
            "(SELECT p.notification_id FROM {events} p "
            "  WHERE p.originator_id = e.originator_id "
            "  AND p.originator_version < e.originator_version AND p.topic = ANY(%(topics)s) "
            "  ORDER BY p.originator_version DESC LIMIT 1) AS previous_notification_id "
            "FROM {events} e LEFT JOIN {context} c "
            "  ON c.originator_id = e.originator_id AND c.originator_version = e.originator_version "
            "WHERE {where} AND e.topic = ANY(%(topics)s) "
            "ORDER BY e.notification_id LIMIT %(limit)s"
        ).format(events=self._events, context=self._context, where=where)
        return conn.execute(
            query, {"topics": self.stored_topics, "limit": limit or self.batch_size, **params}
        ).fetchall()

    def heads(
        self, conn: psycopg.Connection[dict[str, Any]], aggregate_ids: list[UUID]
    ) -> dict[str, int]:
        """Notification id of the last *published* event of each aggregate that has one: how
        far a consumer must have applied it to be current (decision 0009)."""
        rows = conn.execute(
            SQL(
                "SELECT originator_id, max(notification_id) AS head FROM {} "
                "WHERE originator_id = ANY(%s) AND topic = ANY(%s) GROUP BY originator_id"
            ).format(self._events),
            (aggregate_ids, self.stored_topics),
        ).fetchall()
        return {str(row["originator_id"]): int(row["head"]) for row in rows}

    def lag(self) -> int:
        """Published events in the store that the relay has not yet put on the broker."""
        query = SQL(
            "SELECT count(*) AS n FROM {events} WHERE topic = ANY(%(topics)s) AND notification_id > "
            "COALESCE((SELECT notification_id FROM {position} WHERE topic = %(topic)s), 0)"
        ).format(events=self._events, position=self._position)
        with self.connect() as conn:
            self.create_table(conn)
            row = conn.execute(
                query, {"topics": self.stored_topics, "topic": self.topic}
            ).fetchone()
        return int(row["n"]) if row else 0

    def published_after(self, after: int) -> tuple[int, int]:
        """The relay's position and how many published events it has put on the topic after
        notification ``after``: what a consumer that applied up to ``after`` still has to
        apply (its lag, see :mod:`ring_runtime.metrics`)."""
        query = SQL(
            "SELECT p.notification_id AS position, (SELECT count(*) FROM {events} "
            "  WHERE topic = ANY(%(topics)s) AND notification_id > %(after)s "
            "  AND notification_id <= p.notification_id) AS n "
            "FROM {position} p WHERE p.topic = %(topic)s"
        ).format(events=self._events, position=self._position)
        with self.connect() as conn:
            self.create_table(conn)
            row = conn.execute(
                query, {"topics": self.stored_topics, "topic": self.topic, "after": after}
            ).fetchone()
        return (int(row["position"]), int(row["n"])) if row else (0, 0)
