"""Provider standing as the task service sees it: its own read model of ``ring.matching.events``.

The matching service publishes every verification, suspension and block; the consumer in
:mod:`ring_task.consumers.matching` records them here, and :class:`Tasks` asks this read model,
through the :class:`~ring_task.domain.providers.ProviderStandings` port, before opening an
order. The rule itself is :meth:`~ring_task.domain.providers.ProviderStanding.check_may_take`.
"""

from __future__ import annotations

from uuid import UUID

from psycopg.sql import SQL, Composed

from ring_events.topics import MATCHING_EVENTS
from ring_runtime.freshness import Upstream, depends_on
from ring_runtime.projection import ProjectionStore
from ring_runtime.unit_of_work import UnitOfWork
from ring_task.domain.providers import UNKNOWN, ProviderStanding

#: Where the standings come from: a refusal on them catches up with matching first.
MATCHING = Upstream(consumer="provider-standing", topic=MATCHING_EVENTS, owner="matching")


class ProviderStandingProjection:
    """Writes and reads ``provider_standing`` and ``provider_blocks``."""

    def __init__(self, store: ProjectionStore) -> None:
        self.store = store
        self.providers = store.table("provider_standing")
        self.blocks = store.table("provider_blocks")

    def ddl(self) -> list[Composed]:
        """Statements creating the two tables."""
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (provider_id uuid PRIMARY KEY, "
                "verification text NOT NULL, suspended boolean NOT NULL DEFAULT false)"
            ).format(self.providers),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (owner_id uuid NOT NULL, provider_id uuid NOT NULL, "
                "PRIMARY KEY (owner_id, provider_id))"
            ).format(self.blocks),
        ]

    # -- updates (in a consumed message's unit of work) ------------------------------------

    def record_verification(self, unit: UnitOfWork, provider_id: UUID, verification: str) -> None:
        """The provider's verification is now ``verification``."""
        unit.connection.execute(
            SQL(
                "INSERT INTO {} (provider_id, verification) VALUES (%s, %s) "
                "ON CONFLICT (provider_id) DO UPDATE SET verification = EXCLUDED.verification"
            ).format(self.providers),
            (provider_id, verification),
        )

    def record_suspension(self, unit: UnitOfWork, provider_id: UUID, suspended: bool) -> None:
        """The provider is now suspended, or no longer."""
        unit.connection.execute(
            SQL(
                "INSERT INTO {} (provider_id, verification, suspended) VALUES (%s, %s, %s) "
                "ON CONFLICT (provider_id) DO UPDATE SET suspended = EXCLUDED.suspended"
            ).format(self.providers),
            (provider_id, UNKNOWN, suspended),
        )

    def record_block(
        self, unit: UnitOfWork, owner_id: UUID, provider_id: UUID, blocked: bool
    ) -> None:
        """``owner_id`` now blocks ``provider_id``, or no longer."""
        statement = (
            SQL("INSERT INTO {} VALUES (%s, %s) ON CONFLICT DO NOTHING")
            if blocked
            else SQL("DELETE FROM {} WHERE owner_id = %s AND provider_id = %s")
        )
        unit.connection.execute(statement.format(self.blocks), (owner_id, provider_id))

    # -- reads -----------------------------------------------------------------------------

    def standing(self, provider_id: UUID, owner_id: UUID) -> ProviderStanding:
        """The standing of ``provider_id`` towards the tasks of ``owner_id``."""
        depends_on(MATCHING, provider_id, owner_id)  # the provider and the owner's blocklist
        with self.store.reading() as conn:
            row = conn.execute(
                SQL(
                    "SELECT (SELECT verification FROM {p} WHERE provider_id = %s) AS verification, "
                    "(SELECT suspended FROM {p} WHERE provider_id = %s) AS suspended, "
                    "EXISTS (SELECT 1 FROM {b} WHERE owner_id = %s AND provider_id = %s) AS blocked"
                ).format(p=self.providers, b=self.blocks),
                (provider_id, provider_id, owner_id, provider_id),
            ).fetchone()
        assert row is not None  # a SELECT without FROM always returns one row
        return ProviderStanding(
            verification=row["verification"] or UNKNOWN,
            suspended=bool(row["suspended"]),
            blocked_by_owner=bool(row["blocked"]),
        )
