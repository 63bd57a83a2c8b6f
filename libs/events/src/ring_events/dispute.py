"""Public events of the dispute context (topic ``ring.dispute.events``): the life of a case.

A dispute is opened by a party of an order, answered by the other party, enriched with
evidence, escalated to arbitration (on request, or automatically when the response deadline
passes) and resolved by an admin (``release`` / ``refund`` / ``split``), unless the opener
withdraws it first. The message key is the dispute id.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ring_events.base import Id, Instant, IntegrationEvent

#: What a dispute is about.
DisputeCategory = Literal["quality", "not_delivered", "unfair_rejection", "fraud", "other"]
#: How an admin decided a dispute.
DisputeOutcome = Literal["release", "refund", "split"]
#: A provider's share of a split, or 100 (release) / 0 (refund).
SharePercent = Annotated[int, msgspec.Meta(ge=0, le=100)]
#: Which party acted: the task owner (A) or the order's provider (B).
PartyRole = Literal["owner", "provider"]


class DisputeEvent(IntegrationEvent, frozen=True, kw_only=True):
    """Fields every dispute event carries."""

    dispute_id: Id
    order_id: Id


class DisputeOpened(DisputeEvent, frozen=True, kw_only=True, tag="dispute.opened.v1"):
    """A party of the order complained; the other party must respond by ``response_due``."""

    task_id: Id
    owner_id: Id
    provider_id: Id
    opened_by: Id
    opener_role: PartyRole
    category: DisputeCategory
    reason: str
    response_due: Instant


class DisputeResponded(DisputeEvent, frozen=True, kw_only=True, tag="dispute.responded.v1"):
    """The other party answered the complaint."""

    responded_by: Id
    statement: str


class DisputeEvidenceAdded(
    DisputeEvent, frozen=True, kw_only=True, tag="dispute.evidence_added.v1"
):
    """A party added a statement (and optionally a content-addressed file) to the case."""

    added_by: Id
    statement: str
    sha256: str | None = None


class DisputeEscalated(DisputeEvent, frozen=True, kw_only=True, tag="dispute.escalated.v1"):
    """The case went to arbitration: requested by a party, or automatically at the deadline."""

    automatic: bool
    requested_by: Id | None = None
    arbitration_due: Instant


class DisputeResolved(DisputeEvent, frozen=True, kw_only=True, tag="dispute.resolved.v1"):
    """An admin decided; the ledger executes ``provider_share_percent`` of the slot for B."""

    task_id: Id
    owner_id: Id
    provider_id: Id
    outcome: DisputeOutcome
    provider_share_percent: SharePercent
    resolved_by: Id


class DisputeWithdrawn(DisputeEvent, frozen=True, kw_only=True, tag="dispute.withdrawn.v1"):
    """The opener withdrew the complaint before it was resolved."""

    withdrawn_by: Id


#: Every message on ``ring.dispute.events``.
DisputeEventUnion = (
    DisputeOpened
    | DisputeResponded
    | DisputeEvidenceAdded
    | DisputeEscalated
    | DisputeResolved
    | DisputeWithdrawn
)
