"""Provider standing: whether a provider may take an order on one owner's task.

``take_order`` must refuse providers that are not verified, are suspended, or are blocked by
the task's owner, without calling the matching service in the command path: :class:`Tasks`
asks the :class:`ProviderStandings` port, which the task service's own read model of
``ring.matching.events`` (:mod:`ring_task.providers`) answers. A provider the task service has
never heard of is not verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from ring_task.domain import ProviderBlocked, ProviderNotVerified, ProviderSuspended

#: Verification of a provider no matching event has mentioned yet.
UNKNOWN = "unknown"
#: The only verification that lets a provider take orders.
VERIFIED = "verified"


@dataclass(frozen=True)
class ProviderStanding:
    """What decides whether a provider may take an order on one owner's task."""

    verification: str
    suspended: bool
    blocked_by_owner: bool

    def check_may_take(self) -> None:
        """Raise the refusal that applies, if any (verification, then suspension, then block).

        Raises:
            ProviderNotVerified: no verified qualification.
            ProviderSuspended: an admin suspended the provider.
            ProviderBlocked: the task's owner blocked the provider.
        """
        if self.verification != VERIFIED:
            raise ProviderNotVerified(
                f"the provider is not verified (status {self.verification}); "
                "a verified qualification is needed to take orders"
            )
        if self.suspended:
            raise ProviderSuspended("the provider is suspended and may not take orders")
        if self.blocked_by_owner:
            raise ProviderBlocked("the task's owner has blocked this provider")


class ProviderStandings(Protocol):
    """Port through which ``take_order`` learns a provider's standing."""

    def standing(self, provider_id: UUID, owner_id: UUID) -> ProviderStanding:
        """The standing of ``provider_id`` towards the tasks of ``owner_id``."""
        ...
