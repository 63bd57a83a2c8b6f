"""The matching service's commands: get → act → save, retried when another writer got there first.

Every command re-reads its aggregate and re-checks every rule on each attempt, so a retry after
an optimistic-concurrency conflict is always safe. Admin decisions record the acting admin; the
gateway has already checked the admin role.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from ring_matching.domain import (
    Blocklist,
    NotYourself,
    Provider,
    ProviderNotFound,
    blocklist_id,
)
from ring_runtime.concurrency import retrying
from ring_runtime.store import RingApplication


class Providers(RingApplication):
    """Providers, their qualification and standing, and Party A's blocklists."""

    # -- provider's own commands -----------------------------------------------------------

    def submit_qualification(
        self,
        provider_id: UUID,
        actor_id: UUID,
        *,
        kind: str,
        reference: str,
        skills: tuple[str, ...] | list[str],
        now: datetime | None = None,
    ) -> Provider:
        """The provider hands in a qualification; a first submission registers it."""
        if actor_id != provider_id:
            raise NotYourself("a provider submits only its own qualification")
        at = _at(now)

        def act() -> Provider:
            provider = self._find(provider_id) or Provider(provider_id=provider_id, at=at)
            provider.submit_qualification(kind, reference, skills, at)
            self.save(provider)
            return provider

        return retrying(act)

    # -- admin decisions -------------------------------------------------------------------

    def verify(self, provider_id: UUID, admin_id: UUID, now: datetime | None = None) -> Provider:
        """An admin accepts the pending qualification."""
        at = _at(now)
        return self._change(provider_id, lambda provider: provider.verify(admin_id, at))

    def reject(
        self, provider_id: UUID, admin_id: UUID, reason: str, now: datetime | None = None
    ) -> Provider:
        """An admin refuses the pending qualification with a reason."""
        at = _at(now)
        return self._change(provider_id, lambda provider: provider.reject(admin_id, reason, at))

    def suspend(
        self, provider_id: UUID, admin_id: UUID, reason: str = "", now: datetime | None = None
    ) -> Provider:
        """An admin stops the provider from taking new orders."""
        at = _at(now)
        return self._change(provider_id, lambda provider: provider.suspend(admin_id, reason, at))

    def reinstate(self, provider_id: UUID, admin_id: UUID, now: datetime | None = None) -> Provider:
        """An admin lifts the suspension."""
        at = _at(now)
        return self._change(provider_id, lambda provider: provider.reinstate(admin_id, at))

    # -- Party A's blocklist ---------------------------------------------------------------

    def block(
        self, owner_id: UUID, actor_id: UUID, provider_id: UUID, now: datetime | None = None
    ) -> Blocklist:
        """The owner keeps ``provider_id`` away from its tasks (idempotent)."""
        at = _at(now)
        return self._change_blocklist(owner_id, actor_id, lambda bl: bl.block(provider_id, at))

    def unblock(
        self, owner_id: UUID, actor_id: UUID, provider_id: UUID, now: datetime | None = None
    ) -> Blocklist:
        """The owner lets ``provider_id`` take its tasks again (idempotent)."""
        at = _at(now)
        return self._change_blocklist(owner_id, actor_id, lambda bl: bl.unblock(provider_id, at))

    # -- reads -----------------------------------------------------------------------------

    def get_provider(self, provider_id: UUID) -> Provider:
        """The current state of a provider."""
        provider = self._find(provider_id)
        if provider is None:
            raise ProviderNotFound(f"provider {provider_id} not found")
        return provider

    # -- plumbing --------------------------------------------------------------------------

    def _find(self, provider_id: UUID) -> Provider | None:
        try:
            provider: object = self.repository.get(provider_id)
        except AggregateNotFoundError:
            return None
        return provider if isinstance(provider, Provider) else None

    def _change(self, provider_id: UUID, change: Callable[[Provider], None]) -> Provider:
        def act() -> Provider:
            provider = self.get_provider(provider_id)
            change(provider)
            self.save(provider)
            return provider

        return retrying(act)

    def _change_blocklist(
        self, owner_id: UUID, actor_id: UUID, change: Callable[[Blocklist], None]
    ) -> Blocklist:
        if actor_id != owner_id:
            raise NotYourself("an owner changes only its own blocklist")

        def act() -> Blocklist:
            try:
                blocklist: Blocklist = self.repository.get(blocklist_id(owner_id))
            except AggregateNotFoundError:
                blocklist = Blocklist(owner_id=owner_id)
            change(blocklist)
            self.save(blocklist)
            return blocklist

        return retrying(act)


def _at(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)
