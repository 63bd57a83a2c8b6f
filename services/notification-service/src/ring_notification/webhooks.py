"""Durable webhook state in the service schema: endpoints, deliveries and their attempts.

Deliveries are rows written in the same transaction as the feed entry they carry (so a
consumed event can never miss its deliveries), claimed by the delivery worker with a lease
(``FOR UPDATE SKIP LOCKED``, then ``next_attempt_at`` pushed past the lease: a worker that dies
mid-attempt leaves the delivery to be tried again), and updated with each attempt's outcome.
Everything the retry schedule needs lives in these rows, so a restart resumes where it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg.sql import SQL, Composed

from ring_events.notifications import Delivery, DeliveryAttempt, Webhook
from ring_notification.domain import EndpointHealth, SigningSecrets, Subscription
from ring_runtime.paging import decode_position, encode_position
from ring_runtime.projection import ProjectionStore

Row = dict[str, Any]
Connection = psycopg.Connection[Row]


@dataclass(frozen=True)
class DueDelivery:
    """A delivery claimed for one attempt, with what is needed to send and sign it."""

    id: UUID
    endpoint_id: UUID
    party_id: UUID
    url: str
    body: str
    attempts: int
    round_attempts: int
    secrets: SigningSecrets


class WebhookStore:
    """Reads and writes ``webhook_endpoints``, ``webhook_deliveries`` and ``webhook_attempts``."""

    def __init__(self, store: ProjectionStore) -> None:
        self.store = store
        self.endpoints = store.table("webhook_endpoints")
        self.deliveries = store.table("webhook_deliveries")
        self.attempts = store.table("webhook_attempts")

    def ddl(self) -> list[Composed]:
        """Statements creating the three tables."""
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, party_id uuid NOT NULL, "
                "url text NOT NULL, event_types text[] NOT NULL, description text NOT NULL, "
                "secret text NOT NULL, previous_secret text, previous_secret_expires_at "
                "timestamptz, status text NOT NULL, disabled_reason text, "
                "consecutive_failures integer NOT NULL DEFAULT 0, failing_since timestamptz, "
                "created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)"
            ).format(self.endpoints),
            SQL("CREATE INDEX IF NOT EXISTS webhook_endpoints_party ON {} (party_id)").format(
                self.endpoints
            ),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, endpoint_id uuid NOT NULL "
                "REFERENCES {} ON DELETE CASCADE, party_id uuid NOT NULL, "
                "notification_id uuid NOT NULL, event_type text NOT NULL, body text NOT NULL, "
                "status text NOT NULL, attempts integer NOT NULL DEFAULT 0, "
                "round_attempts integer NOT NULL DEFAULT 0, next_attempt_at timestamptz, "
                "created_at timestamptz NOT NULL, delivered_at timestamptz, "
                "UNIQUE (endpoint_id, notification_id))"
            ).format(self.deliveries, self.endpoints),
            SQL(
                "CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON {} (next_attempt_at) "
                "WHERE status = 'pending'"
            ).format(self.deliveries),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (delivery_id uuid NOT NULL REFERENCES {} "
                "ON DELETE CASCADE, attempt integer NOT NULL, at timestamptz NOT NULL, "
                "status_code integer, latency_ms integer NOT NULL, error text, "
                "PRIMARY KEY (delivery_id, attempt))"
            ).format(self.attempts, self.deliveries),
        ]

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection inside one transaction."""
        with self.store.reading() as conn, conn.transaction():
            yield conn

    # -- endpoints ---------------------------------------------------------------------------

    def count(self, party_id: UUID) -> int:
        """How many endpoints the party has."""
        with self.store.reading() as conn:
            row = conn.execute(
                SQL("SELECT count(*) AS n FROM {} WHERE party_id = %s").format(self.endpoints),
                (party_id,),
            ).fetchone()
        return int(row["n"]) if row else 0

    def insert(
        self,
        party_id: UUID,
        url: str,
        subscription: Subscription,
        description: str,
        secret: str,
        now: datetime,
    ) -> UUID:
        """Record a new, enabled endpoint; returns its id."""
        endpoint_id = uuid4()
        with self.store.reading() as conn:
            conn.execute(
                SQL(
                    "INSERT INTO {} (id, party_id, url, event_types, description, secret, status, "
                    "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, 'enabled', %s, %s)"
                ).format(self.endpoints),
                (
                    endpoint_id,
                    party_id,
                    url,
                    list(subscription.event_types),
                    description,
                    secret,
                    now,
                    now,
                ),
            )
        return endpoint_id

    def row(self, party_id: UUID, endpoint_id: UUID, conn: Connection | None = None) -> Row | None:
        """The endpoint's row if the party owns it (locked when ``conn`` is a transaction)."""
        query = SQL("SELECT * FROM {} WHERE id = %s AND party_id = %s").format(self.endpoints)
        if conn is not None:
            return conn.execute(
                query + SQL(" FOR NO KEY UPDATE"), (endpoint_id, party_id)
            ).fetchone()
        with self.store.reading() as own:
            return own.execute(query, (endpoint_id, party_id)).fetchone()

    def page(self, party_id: UUID, cursor: str | None, limit: int) -> tuple[list[Row], str | None]:
        """The party's endpoints, oldest first, keyset-paged on ``(created_at, id)``."""
        after = decode_position(cursor) if cursor else None
        condition: SQL | Composed = SQL("party_id = %s")
        params: list[Any] = [party_id]
        if after is not None:
            condition = condition + SQL(" AND (created_at, id) > (%s, %s)")
            params += list(after)
        with self.store.reading() as conn:
            rows = conn.execute(
                SQL("SELECT * FROM {} WHERE ").format(self.endpoints)
                + condition
                + SQL(" ORDER BY created_at, id LIMIT %s"),
                (*params, limit + 1),
            ).fetchall()
        following = (
            encode_position(rows[limit - 1]["created_at"], rows[limit - 1]["id"])
            if len(rows) > limit
            else None
        )
        return rows[:limit], following

    def update(self, conn: Connection, endpoint_id: UUID, changes: dict[str, Any]) -> None:
        """Set ``changes`` (column → value) on the endpoint."""
        assignments = SQL(", ").join(SQL("{} = %s").format(_column(name)) for name in changes)
        conn.execute(
            SQL("UPDATE {} SET ").format(self.endpoints) + assignments + SQL(" WHERE id = %s"),
            (*changes.values(), endpoint_id),
        )

    def delete(self, party_id: UUID, endpoint_id: UUID) -> bool:
        """Remove the endpoint with its deliveries; whether it existed."""
        with self.store.reading() as conn:
            deleted = conn.execute(
                SQL("DELETE FROM {} WHERE id = %s AND party_id = %s").format(self.endpoints),
                (endpoint_id, party_id),
            ).rowcount
        return deleted > 0

    # -- deliveries --------------------------------------------------------------------------

    def enqueue(
        self,
        conn: Connection,
        party_id: UUID,
        notification_id: UUID,
        event_type: str,
        body: str,
        now: datetime,
    ) -> int:
        """Create a due delivery of a notification for each of the party's enabled endpoints
        subscribed to its type (in the caller's transaction); returns how many."""
        return conn.execute(
            SQL(
                "INSERT INTO {} (id, endpoint_id, party_id, notification_id, event_type, body, "
                "status, next_attempt_at, created_at) "
                "SELECT gen_random_uuid(), e.id, e.party_id, %s, %s, %s, 'pending', %s, %s "
                "FROM {} e WHERE e.party_id = %s AND e.status = 'enabled' "
                "AND (cardinality(e.event_types) = 0 OR %s = ANY(e.event_types)) "
                "ON CONFLICT (endpoint_id, notification_id) DO NOTHING"
            ).format(self.deliveries, self.endpoints),
            (notification_id, event_type, body, now, now, party_id, event_type),
        ).rowcount

    def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[DueDelivery]:
        """Take up to ``limit`` due deliveries of enabled endpoints for one attempt each.

        Their ``next_attempt_at`` moves to ``now + lease``: another worker (or this one after a
        crash) tries again only once the lease has passed without an outcome being recorded.
        """
        with self.transaction() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT d.id, d.endpoint_id, d.party_id, d.body, d.attempts, d.round_attempts, "
                    "e.url, e.secret, e.previous_secret, e.previous_secret_expires_at "
                    "FROM {} d JOIN {} e ON e.id = d.endpoint_id "
                    "WHERE d.status = 'pending' AND d.next_attempt_at <= %s "
                    "AND e.status = 'enabled' ORDER BY d.next_attempt_at, d.id LIMIT %s "
                    "FOR UPDATE OF d SKIP LOCKED"
                ).format(self.deliveries, self.endpoints),
                (now, limit),
            ).fetchall()
            if rows:
                conn.execute(
                    SQL("UPDATE {} SET next_attempt_at = %s WHERE id = ANY(%s)").format(
                        self.deliveries
                    ),
                    (now + lease, [row["id"] for row in rows]),
                )
        return [
            DueDelivery(
                id=row["id"],
                endpoint_id=row["endpoint_id"],
                party_id=row["party_id"],
                url=row["url"],
                body=row["body"],
                attempts=row["attempts"],
                round_attempts=row["round_attempts"],
                secrets=SigningSecrets(
                    row["secret"], row["previous_secret"], row["previous_secret_expires_at"]
                ),
            )
            for row in rows
        ]

    def record_attempt(
        self,
        conn: Connection,
        delivery: DueDelivery,
        *,
        at: datetime,
        status_code: int | None,
        latency_ms: int,
        error: str | None,
        next_attempt_at: datetime | None,
        succeeded: bool,
    ) -> None:
        """Log one attempt and move the delivery on: delivered, retried later, or failed."""
        attempt = delivery.attempts + 1
        conn.execute(
            SQL(
                "INSERT INTO {} (delivery_id, attempt, at, status_code, latency_ms, error) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
            ).format(self.attempts),
            (delivery.id, attempt, at, status_code, latency_ms, error),
        )
        status = "succeeded" if succeeded else "pending" if next_attempt_at else "failed"
        conn.execute(
            SQL(
                "UPDATE {} SET status = %s, attempts = %s, round_attempts = round_attempts + 1, "
                "next_attempt_at = %s, delivered_at = CASE WHEN %s THEN %s ELSE delivered_at END "
                "WHERE id = %s"
            ).format(self.deliveries),
            (status, attempt, next_attempt_at, succeeded, at, delivery.id),
        )

    def health(self, conn: Connection, endpoint_id: UUID) -> tuple[EndpointHealth, str] | None:
        """The endpoint's failure streak and status, locked for this transaction."""
        row = conn.execute(
            SQL(
                "SELECT consecutive_failures, failing_since, status FROM {} WHERE id = %s "
                "FOR NO KEY UPDATE"
            ).format(self.endpoints),
            (endpoint_id,),
        ).fetchone()
        if row is None:
            return None
        return EndpointHealth(row["consecutive_failures"], row["failing_since"]), row["status"]

    def set_health(
        self, conn: Connection, endpoint_id: UUID, health: EndpointHealth, now: datetime
    ) -> None:
        """Store the endpoint's failure streak."""
        self.update(
            conn,
            endpoint_id,
            {
                "consecutive_failures": health.consecutive_failures,
                "failing_since": health.failing_since,
                "updated_at": now,
            },
        )

    def delivery_page(
        self, party_id: UUID, endpoint_id: UUID, cursor: str | None, limit: int
    ) -> tuple[list[Delivery], str | None]:
        """The endpoint's deliveries, newest first, with their attempts."""
        after = decode_position(cursor) if cursor else None
        condition: SQL | Composed = SQL("endpoint_id = %s AND party_id = %s")
        params: list[Any] = [endpoint_id, party_id]
        if after is not None:
            condition = condition + SQL(" AND (created_at, id) < (%s, %s)")
            params += list(after)
        with self.store.reading() as conn:
            rows = conn.execute(
                SQL("SELECT * FROM {} WHERE ").format(self.deliveries)
                + condition
                + SQL(" ORDER BY created_at DESC, id DESC LIMIT %s"),
                (*params, limit + 1),
            ).fetchall()
            page = rows[:limit]
            attempts = conn.execute(
                SQL(
                    "SELECT * FROM {} WHERE delivery_id = ANY(%s) ORDER BY delivery_id, attempt"
                ).format(self.attempts),
                ([row["id"] for row in page],),
            ).fetchall()
        by_delivery: dict[UUID, list[DeliveryAttempt]] = {}
        for attempt in attempts:
            by_delivery.setdefault(attempt["delivery_id"], []).append(
                DeliveryAttempt(
                    attempt=attempt["attempt"],
                    at=attempt["at"],
                    status_code=attempt["status_code"],
                    latency_ms=attempt["latency_ms"],
                    error=attempt["error"],
                )
            )
        following = (
            encode_position(page[-1]["created_at"], page[-1]["id"]) if len(rows) > limit else None
        )
        return [
            Delivery(
                id=row["id"],
                endpoint_id=row["endpoint_id"],
                event_id=row["notification_id"],
                event_type=row["event_type"],
                status=row["status"],
                attempts=by_delivery.get(row["id"], []),
                next_attempt_at=row["next_attempt_at"] if row["status"] == "pending" else None,
                created_at=row["created_at"],
                delivered_at=row["delivered_at"],
            )
            for row in page
        ], following

    def redeliver(
        self, party_id: UUID, endpoint_id: UUID, delivery_id: UUID, now: datetime
    ) -> bool:
        """Schedule the delivery again now, with a fresh retry schedule; whether it exists."""
        with self.store.reading() as conn:
            changed = conn.execute(
                SQL(
                    "UPDATE {} SET status = 'pending', round_attempts = 0, next_attempt_at = %s "
                    "WHERE id = %s AND endpoint_id = %s AND party_id = %s"
                ).format(self.deliveries),
                (now, delivery_id, endpoint_id, party_id),
            ).rowcount
        return changed > 0


def as_webhook(row: Row) -> Webhook:
    """The public view of an endpoint row (the secret shown only by its last characters)."""
    return Webhook(
        id=row["id"],
        url=row["url"],
        event_types=list(row["event_types"]),
        description=row["description"],
        status=row["status"],
        disabled_reason=row["disabled_reason"],
        consecutive_failures=row["consecutive_failures"],
        secret_hint="…" + row["secret"][-4:],
        previous_secret_expires_at=row["previous_secret_expires_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


#: Columns :meth:`WebhookStore.update` may set.
_UPDATABLE = frozenset(
    {
        "url",
        "event_types",
        "description",
        "status",
        "disabled_reason",
        "secret",
        "previous_secret",
        "previous_secret_expires_at",
        "consecutive_failures",
        "failing_since",
        "updated_at",
    }
)


def _column(name: str) -> Composed:
    if name not in _UPDATABLE:
        raise ValueError(f"column {name!r} cannot be updated")
    return SQL("{}").format(psycopg.sql.Identifier(name))
