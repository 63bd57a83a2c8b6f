"""Each party's notification feed, fed exactly once from the five context topics.

A feed entry is appended in the same transaction as the consumer's tracking position and as
the webhook deliveries it causes, so an event is never lost, doubled or delivered without its
feed entry. Entries are numbered per party (``sequence`` 1, 2, 3…): the number is taken from
the party's counter row with an upsert, whose row lock is held until commit, so a party's
entries become visible strictly in sequence order. The live stream relies on that: reading
"everything after N" never skips an entry that commits later with a smaller number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from psycopg.sql import SQL, Composed

from ring_events import dispute, ledger, voucher
from ring_events.envelope import Envelope
from ring_events.notifications import Notification
from ring_events.topics import DISPUTE_EVENTS, LEDGER_EVENTS, TASK_EVENTS, VOUCHER_EVENTS
from ring_notification.integration import (
    DISPUTE_TYPES,
    ORDER_TYPES,
    TASK_TYPES,
    DisputeParties,
    Draft,
    drafts_for,
)
from ring_notification.webhooks import Connection, WebhookStore
from ring_runtime.consumer import ExactlyOnceProcessor, Handler
from ring_runtime.projection import ProjectionStore
from ring_runtime.timers import Clock
from ring_runtime.unit_of_work import UnitOfWork


def consumer_name(topic: str) -> str:
    """Name of the feed's consumer of ``topic`` (``notification-task``…): its tracking-row
    prefix and its consumer group. One group per topic, so that a topic's consumer joining or
    leaving never rebalances the others."""
    return f"notification-{topic.split('.')[1]}"


_ENCODER = msgspec.json.Encoder()


@dataclass(frozen=True)
class FeedEntry:
    """One notification in a party's feed, with the exact JSON delivered and streamed."""

    sequence: int
    id: UUID
    type: str
    body: str


class FeedProjection:
    """Writes and reads ``notification_feed``, ``notification_parties`` and the dispute index."""

    def __init__(self, store: ProjectionStore, webhooks: WebhookStore, clock: Clock) -> None:
        self.store = store
        self.webhooks = webhooks
        self.clock = clock
        self.feed = store.table("notification_feed")
        self.parties = store.table("notification_parties")
        self.disputes = store.table("notification_disputes")

    def ddl(self) -> list[Composed]:
        """Statements creating the feed tables."""
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (party_id uuid PRIMARY KEY, "
                "last_sequence bigint NOT NULL)"
            ).format(self.parties),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (party_id uuid NOT NULL, sequence bigint NOT NULL, "
                "id uuid NOT NULL, type text NOT NULL, created_at timestamptz NOT NULL, "
                "body text NOT NULL, PRIMARY KEY (party_id, sequence), UNIQUE (party_id, id))"
            ).format(self.feed),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (dispute_id uuid PRIMARY KEY, owner_id uuid NOT NULL, "
                "provider_id uuid NOT NULL)"
            ).format(self.disputes),
        ]

    def processors(self) -> list[ExactlyOnceProcessor]:
        """One exactly-once consumer per topic that carries party events."""
        notify: Handler = self._notify
        by_topic: dict[str, list[type[Any]]] = {
            TASK_EVENTS: [*TASK_TYPES, *ORDER_TYPES],
            VOUCHER_EVENTS: [voucher.VoucherSubmitted],
            DISPUTE_EVENTS: list(DISPUTE_TYPES),
            LEDGER_EVENTS: [ledger.WithdrawalPaid],
        }
        return [
            ExactlyOnceProcessor(
                consumer_name(topic), topic, self.store, dict.fromkeys(types, notify)
            )
            for topic, types in by_topic.items()
        ]

    def _notify(self, event: Any, envelope: Envelope, unit: UnitOfWork) -> None:
        conn = unit.connection
        parties: DisputeParties | None = None
        if isinstance(event, dispute.DisputeOpened):
            conn.execute(
                SQL(
                    "INSERT INTO {} (dispute_id, owner_id, provider_id) VALUES (%s, %s, %s) "
                    "ON CONFLICT (dispute_id) DO NOTHING"
                ).format(self.disputes),
                (event.dispute_id, event.owner_id, event.provider_id),
            )
        elif isinstance(event, dispute.DisputeEvent):
            row = conn.execute(
                SQL("SELECT owner_id, provider_id FROM {} WHERE dispute_id = %s").format(
                    self.disputes
                ),
                (event.dispute_id,),
            ).fetchone()
            parties = DisputeParties(row["owner_id"], row["provider_id"]) if row else None
        # Counter rows are locked in party-id order, so two transactions never wait on each other.
        drafts = sorted(drafts_for(event, envelope.event_id, parties), key=lambda d: d.party_id)
        for draft in drafts:
            self.append(conn, draft, created_at=envelope.occurred_at)

    def append(self, conn: Connection, draft: Draft, *, created_at: datetime) -> int | None:
        """Add ``draft`` to its party's feed and queue its webhook deliveries (in ``conn``'s
        transaction); returns its sequence, or ``None`` if the feed already holds it."""
        known = conn.execute(
            SQL("SELECT 1 FROM {} WHERE party_id = %s AND id = %s").format(self.feed),
            (draft.party_id, draft.id),
        ).fetchone()
        if known is not None:
            return None
        counter = conn.execute(
            SQL(
                "INSERT INTO {t} AS p (party_id, last_sequence) VALUES (%s, 1) "
                "ON CONFLICT (party_id) DO UPDATE SET last_sequence = p.last_sequence + 1 "
                "RETURNING last_sequence"
            ).format(t=self.parties),
            (draft.party_id,),
        ).fetchone()
        assert counter is not None  # an upsert with RETURNING always answers a row
        sequence = int(counter["last_sequence"])
        body = _ENCODER.encode(
            Notification(
                id=draft.id,
                type=draft.type,
                created_at=created_at,
                sequence=sequence,
                party_id=draft.party_id,
                data=draft.data,
            )
        ).decode()
        conn.execute(
            SQL(
                "INSERT INTO {} (party_id, sequence, id, type, created_at, body) "
                "VALUES (%s, %s, %s, %s, %s, %s)"
            ).format(self.feed),
            (draft.party_id, sequence, draft.id, draft.type, created_at, body),
        )
        self.webhooks.enqueue(conn, draft.party_id, draft.id, draft.type, body, self.clock.now())
        return sequence

    def after(self, party_id: UUID, sequence: int, limit: int = 100) -> list[FeedEntry]:
        """The party's entries after ``sequence``, oldest first."""
        with self.store.reading() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT sequence, id, type, body FROM {} WHERE party_id = %s "
                    "AND sequence > %s ORDER BY sequence LIMIT %s"
                ).format(self.feed),
                (party_id, sequence, limit),
            ).fetchall()
        return [FeedEntry(**row) for row in rows]

    def last_sequence(self, party_id: UUID) -> int:
        """The party's newest sequence number (0 when its feed is empty)."""
        with self.store.reading() as conn:
            row = conn.execute(
                SQL("SELECT last_sequence FROM {} WHERE party_id = %s").format(self.parties),
                (party_id,),
            ).fetchone()
        return int(row["last_sequence"]) if row else 0
