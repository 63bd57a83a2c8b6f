"""Public events of the matching context (topic ``ring.matching.events``): providers.

A provider is a Party B user (its id is the user id) whose qualification an admin verifies or
rejects; an admin may suspend and reinstate it. Party A may block a provider from its own tasks:
blocks are kept per owner, so :class:`ProviderBlocked` / :class:`ProviderUnblocked` are keyed by
the owner's blocklist, not by the provider.
"""

from __future__ import annotations

from ring_events.base import Id, IntegrationEvent


class ProviderRegistered(IntegrationEvent, frozen=True, kw_only=True, tag="provider.registered.v1"):
    """A Party B user became a provider; it may not take orders until verified."""

    provider_id: Id


class ProviderQualificationSubmitted(
    IntegrationEvent, frozen=True, kw_only=True, tag="provider.qualification_submitted.v1"
):
    """The provider submitted a qualification (a certificate, licence …) for review."""

    provider_id: Id
    kind: str
    reference: str
    skills: tuple[str, ...] = ()


class ProviderVerified(IntegrationEvent, frozen=True, kw_only=True, tag="provider.verified.v1"):
    """An admin accepted the qualification: the provider may take orders."""

    provider_id: Id
    decided_by: Id
    skills: tuple[str, ...] = ()


class ProviderRejected(IntegrationEvent, frozen=True, kw_only=True, tag="provider.rejected.v1"):
    """An admin refused the qualification; the provider may submit another one."""

    provider_id: Id
    decided_by: Id
    reason: str


class ProviderSuspended(IntegrationEvent, frozen=True, kw_only=True, tag="provider.suspended.v1"):
    """An admin suspended the provider: no new orders until reinstated."""

    provider_id: Id
    decided_by: Id
    reason: str = ""


class ProviderReinstated(IntegrationEvent, frozen=True, kw_only=True, tag="provider.reinstated.v1"):
    """An admin lifted the suspension; the provider's verification is as it was before."""

    provider_id: Id
    decided_by: Id


class ProviderBlocked(IntegrationEvent, frozen=True, kw_only=True, tag="provider.blocked.v1"):
    """Party A blocked the provider from its own tasks."""

    owner_id: Id
    provider_id: Id


class ProviderUnblocked(IntegrationEvent, frozen=True, kw_only=True, tag="provider.unblocked.v1"):
    """Party A lifted its block; the provider may take its tasks again."""

    owner_id: Id
    provider_id: Id


#: Every message on ``ring.matching.events``.
MatchingEvent = (
    ProviderRegistered
    | ProviderQualificationSubmitted
    | ProviderVerified
    | ProviderRejected
    | ProviderSuspended
    | ProviderReinstated
    | ProviderBlocked
    | ProviderUnblocked
)
