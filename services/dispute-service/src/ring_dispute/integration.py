"""Which private domain events the dispute service publishes, and as which public events.

Every step of a case is public (``ring.dispute.events``); the docket (one open dispute per
order) is private bookkeeping.
"""

from __future__ import annotations

from ring_dispute.domain import Dispute
from ring_events import dispute as public
from ring_events.topics import DISPUTE_EVENTS
from ring_runtime.relay import Translation

#: The topic the dispute service publishes to.
TOPIC = DISPUTE_EVENTS


def _opened(e: Dispute.Opened) -> public.DisputeOpened:
    return public.DisputeOpened(
        dispute_id=e.originator_id,
        order_id=e.order_id,
        task_id=e.task_id,
        owner_id=e.owner_id,
        provider_id=e.provider_id,
        opened_by=e.opened_by,
        opener_role="owner" if e.opened_by == e.owner_id else "provider",
        category=e.category,
        reason=e.reason,
        response_due=e.response_due,
        occurred_at=e.at,
    )


def _responded(e: Dispute.Responded) -> public.DisputeResponded:
    return public.DisputeResponded(
        dispute_id=e.originator_id,
        order_id=e.order_id,
        responded_by=e.responded_by,
        statement=e.statement,
        occurred_at=e.at,
    )


def _evidence_added(e: Dispute.EvidenceAdded) -> public.DisputeEvidenceAdded:
    return public.DisputeEvidenceAdded(
        dispute_id=e.originator_id,
        order_id=e.order_id,
        added_by=e.added_by,
        statement=e.statement,
        sha256=e.sha256,
        occurred_at=e.at,
    )


def _escalated(e: Dispute.Escalated) -> public.DisputeEscalated:
    return public.DisputeEscalated(
        dispute_id=e.originator_id,
        order_id=e.order_id,
        automatic=e.automatic,
        requested_by=e.requested_by,
        arbitration_due=e.arbitration_due,
        occurred_at=e.at,
    )


def _resolved(e: Dispute.Resolved) -> public.DisputeResolved:
    return public.DisputeResolved(
        dispute_id=e.originator_id,
        order_id=e.order_id,
        task_id=e.task_id,
        owner_id=e.owner_id,
        provider_id=e.provider_id,
        outcome=e.outcome,
        provider_share_percent=e.provider_share_percent,
        resolved_by=e.resolved_by,
        occurred_at=e.at,
    )


def _withdrawn(e: Dispute.Withdrawn) -> public.DisputeWithdrawn:
    return public.DisputeWithdrawn(
        dispute_id=e.originator_id,
        order_id=e.order_id,
        withdrawn_by=e.withdrawn_by,
        occurred_at=e.at,
    )


#: Published domain event class → the function building its public event.
DOMAIN_TO_PUBLIC: dict[type[object], Translation] = {
    Dispute.Opened: _opened,
    Dispute.Responded: _responded,
    Dispute.EvidenceAdded: _evidence_added,
    Dispute.Escalated: _escalated,
    Dispute.Resolved: _resolved,
    Dispute.Withdrawn: _withdrawn,
}
