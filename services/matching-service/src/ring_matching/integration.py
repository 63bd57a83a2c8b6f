"""Which private domain events the matching service publishes, and as which public events.

Every provider and blocklist event is public except ``Blocklist.Opened`` (an empty list says
nothing). The outbox relay uses :data:`TOPIC` and :data:`DOMAIN_TO_PUBLIC`.
"""

from __future__ import annotations

from ring_events import matching as public
from ring_events.topics import MATCHING_EVENTS
from ring_matching.domain import Blocklist, Provider
from ring_runtime.relay import Translation

#: The topic the matching service publishes to.
TOPIC = MATCHING_EVENTS


def _registered(e: Provider.Registered) -> public.ProviderRegistered:
    return public.ProviderRegistered(provider_id=e.originator_id, occurred_at=e.at)


def _qualification_submitted(
    e: Provider.QualificationSubmitted,
) -> public.ProviderQualificationSubmitted:
    return public.ProviderQualificationSubmitted(
        provider_id=e.originator_id,
        kind=e.kind,
        reference=e.reference,
        skills=tuple(e.skills),
        occurred_at=e.at,
    )


def _verified(e: Provider.Verified) -> public.ProviderVerified:
    return public.ProviderVerified(
        provider_id=e.originator_id,
        decided_by=e.decided_by,
        skills=tuple(e.skills),
        occurred_at=e.at,
    )


def _rejected(e: Provider.Rejected) -> public.ProviderRejected:
    return public.ProviderRejected(
        provider_id=e.originator_id, decided_by=e.decided_by, reason=e.reason, occurred_at=e.at
    )


def _suspended(e: Provider.Suspended) -> public.ProviderSuspended:
    return public.ProviderSuspended(
        provider_id=e.originator_id, decided_by=e.decided_by, reason=e.reason, occurred_at=e.at
    )


def _reinstated(e: Provider.Reinstated) -> public.ProviderReinstated:
    return public.ProviderReinstated(
        provider_id=e.originator_id, decided_by=e.decided_by, occurred_at=e.at
    )


def _blocked(e: Blocklist.ProviderBlocked) -> public.ProviderBlocked:
    return public.ProviderBlocked(owner_id=e.owner_id, provider_id=e.provider_id, occurred_at=e.at)


def _unblocked(e: Blocklist.ProviderUnblocked) -> public.ProviderUnblocked:
    return public.ProviderUnblocked(
        owner_id=e.owner_id, provider_id=e.provider_id, occurred_at=e.at
    )


#: Published domain event class → the function building its public event.
DOMAIN_TO_PUBLIC: dict[type[object], Translation] = {
    Provider.Registered: _registered,
    Provider.QualificationSubmitted: _qualification_submitted,
    Provider.Verified: _verified,
    Provider.Rejected: _rejected,
    Provider.Suspended: _suspended,
    Provider.Reinstated: _reinstated,
    Blocklist.ProviderBlocked: _blocked,
    Blocklist.ProviderUnblocked: _unblocked,
}
