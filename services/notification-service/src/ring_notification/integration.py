"""Which public integration events become notifications, of which type, for which parties.

The service consumes the five context topics; this module decides, for one integration event,
who is told what. Task events go to the task's owner (Party A); order events to both parties
of the order; a flagged voucher to the owner who reviews it; dispute events to both parties of
the disputed order; a paid withdrawal to the party who asked for it. Events that are no
party's business (deposits, escrow bookkeeping, qualification…) notify nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import msgspec

from ring_events import dispute, ledger, task, voucher
from ring_events.base import IntegrationEvent

#: Namespace of notification ids (uuid5 of the source event id and the notification type).
NOTIFICATION_ID_NAMESPACE = uuid5(NAMESPACE_URL, "https://ring.example/notifications")


@dataclass(frozen=True)
class DisputeParties:
    """The two parties of a disputed order, remembered from ``dispute.opened``."""

    owner_id: UUID
    provider_id: UUID


@dataclass(frozen=True)
class Draft:
    """A notification for one party, before it gets its place in that party's feed."""

    id: UUID
    party_id: UUID
    type: str
    data: dict[str, Any]


def notification_id(source_event_id: str, notification_type: str) -> UUID:
    """Stable id of the notification ``notification_type`` made from one source event."""
    return uuid5(NOTIFICATION_ID_NAMESPACE, f"{source_event_id}:{notification_type}")


#: The task events a task's owner is told about.
TaskNotice = (
    task.TaskPublished
    | task.TaskFundingFailed
    | task.TaskExpired
    | task.TaskCancelled
    | task.TaskCompleted
)

#: Task events: notification type (to the owner).
TASK_TYPES: dict[type[IntegrationEvent], str] = {
    task.TaskPublished: "task.published",
    task.TaskFundingFailed: "task.funding_failed",
    task.TaskExpired: "task.expired",
    task.TaskCancelled: "task.cancelled",
    task.TaskCompleted: "task.completed",
}

#: Order events: notification type (to owner and provider).
ORDER_TYPES: dict[type[task.OrderEvent], str] = {
    task.OrderApplied: "order.taken",
    task.OrderAccepted: "order.accepted",
    task.OrderDeclined: "order.declined",
    task.OrderProgressed: "order.progressed",
    task.OrderSubmitted: "order.submitted",
    task.OrderApproved: "order.approved",
    task.OrderRejected: "order.rejected",
    task.OrderSettled: "order.settled",
    task.OrderExpired: "order.expired",
    task.OrderCancelled: "order.cancelled",
}

#: Dispute events: notification type (to both parties of the disputed order).
DISPUTE_TYPES: dict[type[dispute.DisputeEvent], str] = {
    dispute.DisputeOpened: "dispute.opened",
    dispute.DisputeResponded: "dispute.responded",
    dispute.DisputeEscalated: "dispute.escalated",
    dispute.DisputeResolved: "dispute.resolved",
    dispute.DisputeWithdrawn: "dispute.withdrawn",
}


def event_data(event: IntegrationEvent) -> dict[str, Any]:
    """The event's public fields (its integration ``type`` tag left out) as JSON values."""
    data: dict[str, Any] = msgspec.to_builtins(event)
    data.pop("type", None)
    return data


def drafts_for(
    event: IntegrationEvent,
    source_event_id: str,
    dispute_parties: DisputeParties | None = None,
) -> list[Draft]:
    """The notifications ``event`` causes (none for events that concern no party).

    Args:
        event: a public integration event of any context.
        source_event_id: its ``event_id`` header (stable across republishing).
        dispute_parties: for dispute events other than ``dispute.opened``, the parties
            recorded when the dispute was opened (``None`` if unknown: nobody is told).
    """

    def to(kind: str, *parties: UUID) -> list[Draft]:
        data = event_data(event)
        ident = notification_id(source_event_id, kind)
        return [Draft(ident, party, kind, data) for party in dict.fromkeys(parties)]

    if isinstance(event, TaskNotice):
        return to(TASK_TYPES[type(event)], event.owner_id)
    if isinstance(event, task.OrderEvent) and type(event) in ORDER_TYPES:
        return to(ORDER_TYPES[type(event)], event.owner_id, event.provider_id)
    if isinstance(event, voucher.VoucherSubmitted):
        return to("voucher.flagged", event.owner_id) if event.flags else []
    if isinstance(event, dispute.DisputeOpened | dispute.DisputeResolved):
        return to(DISPUTE_TYPES[type(event)], event.owner_id, event.provider_id)
    if isinstance(event, dispute.DisputeEvent) and type(event) in DISPUTE_TYPES:
        if dispute_parties is None:
            return []
        kind = DISPUTE_TYPES[type(event)]
        return to(kind, dispute_parties.owner_id, dispute_parties.provider_id)
    if isinstance(event, ledger.WithdrawalPaid):
        return to("payout.paid", event.party_id)
    return []
