"""``ring.matching.events`` → the task service's provider standing (see :mod:`ring_task.providers`).

Each handler records one fact in the message's unit of work, which commits it with the tracking
position, so a redelivered event changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
from ring_runtime.consumer import ExactlyOnceProcessor, Handler
from ring_runtime.unit_of_work import UnitOfWork
from ring_task.providers import MATCHING, ProviderStandingProjection


def processor(standings: ProviderStandingProjection) -> ExactlyOnceProcessor:
    """The exactly-once consumer keeping provider standing up to date."""
    return ExactlyOnceProcessor(
        MATCHING.consumer, MATCHING.topic, standings.store, handlers(standings)
    )


def handlers(standings: ProviderStandingProjection) -> Mapping[type[Any], Handler]:
    """Matching event type → standing update."""

    def verification(status: str) -> Handler:
        def record(event: Any, _: Envelope, unit: UnitOfWork) -> None:
            standings.record_verification(unit, event.provider_id, status)

        return record

    def suspension(suspended: bool) -> Handler:
        def record(event: Any, _: Envelope, unit: UnitOfWork) -> None:
            standings.record_suspension(unit, event.provider_id, suspended)

        return record

    def block(blocked: bool) -> Handler:
        def record(event: Any, _: Envelope, unit: UnitOfWork) -> None:
            standings.record_block(unit, event.owner_id, event.provider_id, blocked)

        return record

    return {
        ProviderRegistered: verification("registered"),
        ProviderQualificationSubmitted: verification("pending"),
        ProviderVerified: verification("verified"),
        ProviderRejected: verification("rejected"),
        ProviderSuspended: suspension(True),
        ProviderReinstated: suspension(False),
        ProviderBlocked: block(True),
        ProviderUnblocked: block(False),
    }
