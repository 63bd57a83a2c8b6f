"""Provider directory: every provider's verification, suspension and skills, and owners' blocks.

Built exactly once from the service's own public feed, ``ring.matching.events``, so ranking can
query all providers at once (the event store answers only "one aggregate by id"). Provider
events are keyed by provider and block events by the owner's blocklist; each table is written by
events of one key kind only, so their relative order does not matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Composed, Identifier

from ring_events.envelope import Envelope
from ring_events.matching import (
    ProviderBlocked,
    ProviderQualificationSubmitted,
    ProviderRegistered,
    ProviderReinstated,
    ProviderRejected,
    ProviderSuspended,
    ProviderUnblocked,
    ProviderVerified,
)
from ring_events.topics import MATCHING_EVENTS
from ring_matching.domain import Verification
from ring_matching.domain.scoring import ProviderProfile, RecordFigures
from ring_runtime.consumer import ExactlyOnceProcessor, Handler
from ring_runtime.projection import ProjectionStore
from ring_runtime.unit_of_work import UnitOfWork


class ProviderDirectoryProjection:
    """Writes ``directory_providers`` / ``directory_blocks`` and answers who may be ranked."""

    def __init__(self, store: ProjectionStore) -> None:
        self.store = store
        self.providers = store.table("directory_providers")
        self.blocks = store.table("directory_blocks")

    def ddl(self) -> list[Composed]:
        """Statements creating the directory tables."""
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (provider_id uuid PRIMARY KEY, "
                "verification text NOT NULL, suspended boolean NOT NULL DEFAULT false, "
                "skills text[] NOT NULL DEFAULT '{{}}')"
            ).format(self.providers),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (owner_id uuid NOT NULL, provider_id uuid NOT NULL, "
                "PRIMARY KEY (owner_id, provider_id))"
            ).format(self.blocks),
        ]

    def handlers(self) -> Mapping[type[Any], Handler]:
        """Integration event type → directory update."""
        return {
            ProviderRegistered: self._registered,
            ProviderQualificationSubmitted: self._submitted,
            ProviderVerified: self._set("verification", Verification.VERIFIED.value),
            ProviderRejected: self._set("verification", Verification.REJECTED.value),
            ProviderSuspended: self._set("suspended", True),
            ProviderReinstated: self._set("suspended", False),
            ProviderBlocked: self._blocked,
            ProviderUnblocked: self._unblocked,
        }

    def processor(self) -> ExactlyOnceProcessor:
        """The exactly-once consumer keeping the directory up to date."""
        return ExactlyOnceProcessor("directory", MATCHING_EVENTS, self.store, self.handlers())

    # -- updates ---------------------------------------------------------------------------

    def _registered(self, event: ProviderRegistered, _: Envelope, unit: UnitOfWork) -> None:
        unit.connection.execute(
            SQL("INSERT INTO {} (provider_id, verification) VALUES (%s, %s)").format(
                self.providers
            ),
            (event.provider_id, Verification.REGISTERED.value),
        )

    def _submitted(
        self, event: ProviderQualificationSubmitted, _: Envelope, unit: UnitOfWork
    ) -> None:
        unit.connection.execute(
            SQL("UPDATE {} SET verification = %s, skills = %s WHERE provider_id = %s").format(
                self.providers
            ),
            (Verification.PENDING.value, list(event.skills), event.provider_id),
        )

    def _set(self, column: str, value: Any) -> Handler:
        def update(event: Any, _: Envelope, unit: UnitOfWork) -> None:
            unit.connection.execute(
                SQL("UPDATE {} SET {} = %s WHERE provider_id = %s").format(
                    self.providers, Identifier(column)
                ),
                (value, event.provider_id),
            )

        return update

    def _blocked(self, event: ProviderBlocked, _: Envelope, unit: UnitOfWork) -> None:
        unit.connection.execute(
            SQL("INSERT INTO {} VALUES (%s, %s) ON CONFLICT DO NOTHING").format(self.blocks),
            (event.owner_id, event.provider_id),
        )

    def _unblocked(self, event: ProviderUnblocked, _: Envelope, unit: UnitOfWork) -> None:
        unit.connection.execute(
            SQL("DELETE FROM {} WHERE owner_id = %s AND provider_id = %s").format(self.blocks),
            (event.owner_id, event.provider_id),
        )

    # -- reads -----------------------------------------------------------------------------

    def rankable_for(self, owner_id: UUID, task_id: UUID, slots: Composed) -> list[UUID]:
        """Providers that could work on ``owner_id``'s task ``task_id``.

        Verified or pending, not suspended, not blocked by the owner, not the owner itself,
        and holding no slot of the task yet (``slots`` is the board's order table).
        """
        with self.store.reading() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT provider_id FROM {p} p WHERE verification = ANY(%s) "
                    "AND NOT suspended AND provider_id <> %s "
                    "AND NOT EXISTS (SELECT 1 FROM {b} b WHERE b.owner_id = %s "
                    "AND b.provider_id = p.provider_id) "
                    "AND NOT EXISTS (SELECT 1 FROM {o} o WHERE o.task_id = %s "
                    "AND o.provider_id = p.provider_id AND o.holds_slot)"
                ).format(p=self.providers, b=self.blocks, o=slots),
                (
                    [Verification.VERIFIED.value, Verification.PENDING.value],
                    owner_id,
                    owner_id,
                    task_id,
                ),
            ).fetchall()
        return [row["provider_id"] for row in rows]

    def owners_blocking(self, provider_id: UUID) -> set[UUID]:
        """Owners who blocked ``provider_id``."""
        with self.store.reading() as conn:
            rows = conn.execute(
                SQL("SELECT owner_id FROM {} WHERE provider_id = %s").format(self.blocks),
                (provider_id,),
            ).fetchall()
        return {row["owner_id"] for row in rows}

    def profiles(
        self, provider_ids: list[UUID], records: Mapping[UUID, RecordFigures]
    ) -> list[ProviderProfile]:
        """Scoring profiles of ``provider_ids`` known to the directory."""
        with self.store.reading() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT provider_id, verification, skills FROM {} WHERE provider_id = ANY(%s)"
                ).format(self.providers),
                (provider_ids,),
            ).fetchall()
        return [
            ProviderProfile(
                provider_id=row["provider_id"],
                verification=row["verification"],
                skills=frozenset(row["skills"]),
                record=records.get(row["provider_id"], RecordFigures()),
            )
            for row in rows
        ]
