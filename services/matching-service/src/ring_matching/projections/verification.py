"""The admins' verification queue: every provider whose qualification waits for a decision.

Fed from the service's own domain events by an
:class:`~ring_runtime.local_projection.OwnEventsFollower` (not from the public feed): a new
follower starts at the beginning of the event store, so the queue holds every pending provider
from its first start, and a read catches up with the store first, so a qualification submitted a
moment ago is already listed (guarantee 7). A submission puts the provider in the queue (again
after a rejection, replacing a pending one); a verification or a rejection takes it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg.sql import SQL, Composed

from ring_matching.domain import Provider
from ring_runtime.local_projection import LocalHandler, OwnEventsFollower
from ring_runtime.paging import decode_position, encode_position
from ring_runtime.projection import ProjectionStore
from ring_runtime.store import RingApplication

Connection = psycopg.Connection[dict[str, Any]]


class PendingProvider(msgspec.Struct, frozen=True, kw_only=True):
    """One provider waiting for an admin: the qualification to judge."""

    id: UUID
    kind: str
    reference: str
    skills: list[str]
    submitted_at: datetime


class PendingProviderPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the queue and the cursor of the next page (``None`` on the last page)."""

    items: list[PendingProvider]
    next_cursor: str | None


class VerificationQueue:
    """Writes (from own events) and reads the ``verification_queue`` table."""

    def __init__(self, store: ProjectionStore, providers: RingApplication) -> None:
        self.store = store
        self.table = store.table("verification_queue")
        self.follower = OwnEventsFollower("verification-queue", providers, store, self.handlers())

    def ddl(self) -> list[Composed]:
        """Statements creating the queue table, its order index and the follower's position."""
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (provider_id uuid PRIMARY KEY, kind text NOT NULL, "
                "reference text NOT NULL, skills text[] NOT NULL, submitted_at timestamptz NOT NULL)"
            ).format(self.table),
            SQL(
                "CREATE INDEX IF NOT EXISTS verification_queue_order "
                "ON {} (submitted_at, provider_id)"
            ).format(self.table),
            *self.follower.ddl(),
        ]

    def handlers(self) -> Mapping[type[Any], LocalHandler]:
        """Own domain event → queue row."""
        return {
            Provider.QualificationSubmitted: self._submitted,
            Provider.Verified: self._decided,
            Provider.Rejected: self._decided,
        }

    def _submitted(self, e: Any, conn: Connection) -> None:
        conn.execute(
            SQL(
                "INSERT INTO {} VALUES (%s, %s, %s, %s, %s) ON CONFLICT (provider_id) DO UPDATE "
                "SET kind = EXCLUDED.kind, reference = EXCLUDED.reference, "
                "skills = EXCLUDED.skills, submitted_at = EXCLUDED.submitted_at"
            ).format(self.table),
            (e.originator_id, e.kind, e.reference, list(e.skills), e.at),
        )

    def _decided(self, e: Any, conn: Connection) -> None:
        conn.execute(
            SQL("DELETE FROM {} WHERE provider_id = %s").format(self.table), (e.originator_id,)
        )

    def pending(self, *, cursor: str | None = None, limit: int = 100) -> PendingProviderPage:
        """One page of the queue, longest waiting first, as of every event stored so far.

        Raises:
            InvalidCursor: ``cursor`` was not made by this listing.
        """
        params: dict[str, Any] = {"limit": limit + 1}
        after = SQL("TRUE")
        if cursor:
            params["after_at"], params["after_id"] = decode_position(cursor)
            after = SQL("(submitted_at, provider_id) > (%(after_at)s, %(after_id)s)")
        query = SQL(
            "SELECT provider_id AS id, kind, reference, skills, submitted_at FROM {} WHERE {} "
            "ORDER BY submitted_at, provider_id LIMIT %(limit)s"
        ).format(self.table, after)
        with self.follower.caught_up() as conn:
            rows = conn.execute(query, params).fetchall()
        entries = [PendingProvider(**row) for row in rows]
        page, more = entries[:limit], len(entries) > limit
        following = encode_position(page[-1].submitted_at, page[-1].id) if more else None
        return PendingProviderPage(items=page, next_cursor=following)
