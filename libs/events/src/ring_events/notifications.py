"""Notifications to parties: the event catalogue, the versioned payload, the webhook signature.

This is the public contract of webhook deliveries and of the live event stream
(``GET /v1/events/stream``), declared once and used by the notification service, the gateway
(OpenAPI) and receivers' tests. A notification is one party's view of a platform event:
``{"id", "type", "version", "created_at", "sequence", "party_id", "data"}``.

* ``id`` is stable: every delivery, retry and redelivery of the same notification (and the
  stream) carries the same id, so a receiver deduplicates on it.
* ``type`` is one of :data:`EVENT_TYPES`; ``version`` is the payload version (``1``). Fields
  are only ever added to ``data``; a breaking change is a new ``version``.
* ``sequence`` is the notification's position in the party's feed (gapless per party), the
  ``id:`` of the stream and what ``Last-Event-ID`` resumes after.

Signature: ``Ring-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``, one
``v1`` per valid secret (two while a rotated secret overlaps its successor).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

#: Version of the notification payload described here.
PAYLOAD_VERSION = 1

#: Header carrying the signature of a webhook delivery.
SIGNATURE_HEADER = "Ring-Signature"

#: Every notification type, with what it tells its recipient (who receives it in brackets).
EVENT_TYPES: dict[str, str] = {
    "task.published": "The task is funded and on the board (owner).",
    "task.funding_failed": "Escrow could not be held; top up and publish again (owner).",
    "task.expired": "The task's deadline passed; no new orders (owner).",
    "task.cancelled": "The owner cancelled the task; unused escrow is refunded (owner).",
    "task.completed": "No order is open any more; unused escrow is refunded (owner).",
    "order.taken": "A provider took a slot of the task (owner, provider).",
    "order.accepted": "The provider may start work (owner, provider).",
    "order.declined": "The owner declined the application (owner, provider).",
    "order.progressed": "The provider reported progress (owner, provider).",
    "order.submitted": "A voucher was handed in for review (owner, provider).",
    "order.approved": "The owner accepted the work; settlement follows (owner, provider).",
    "order.rejected": "The owner rejected the voucher (owner, provider).",
    "order.settled": "The commission reached the provider (owner, provider).",
    "order.expired": "The deadline passed before hand-in; the slot is free (owner, provider).",
    "order.cancelled": "The provider withdrew before hand-in (owner, provider).",
    "voucher.flagged": "A submitted voucher reuses or resembles other orders' files (owner).",
    "dispute.opened": "A party opened a dispute about an order (owner, provider).",
    "dispute.responded": "The other party answered the dispute (owner, provider).",
    "dispute.escalated": "The dispute went to arbitration (owner, provider).",
    "dispute.resolved": "An admin decided the dispute (owner, provider).",
    "dispute.withdrawn": "The opener withdrew the dispute (owner, provider).",
    "payout.paid": "A withdrawal left the platform (the withdrawing party).",
    "webhook_endpoint.disabled": "One of your webhook endpoints kept failing and was disabled.",
}

#: A notification type name (one of :data:`EVENT_TYPES`).
EventTypeName = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
#: A webhook target URL.
TargetUrl = Annotated[str, msgspec.Meta(min_length=8, max_length=2000)]
Description = Annotated[str, msgspec.Meta(max_length=500)]
#: Seconds a rotated-out secret keeps signing beside its successor (up to 7 days).
OverlapSeconds = Annotated[int, msgspec.Meta(ge=0, le=7 * 24 * 3600)]


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    """One notification as delivered to a webhook and sent on the stream (payload version 1)."""

    id: UUID
    type: str
    version: int = PAYLOAD_VERSION
    created_at: datetime
    sequence: int
    party_id: UUID
    data: dict[str, Any]


# -- the webhook API (requests and answers), shared by the gateway and the service ------------


class WebhookCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new endpoint: where to deliver and which event types (an empty list means all)."""

    url: TargetUrl
    event_types: list[EventTypeName] = msgspec.field(default_factory=list)
    description: Description = ""


class WebhookUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Changes to an endpoint; fields left out stay as they are. ``enabled: true`` re-enables
    an endpoint that was disabled after failing (its pending deliveries resume)."""

    url: TargetUrl | None = None
    event_types: list[EventTypeName] | None = None
    description: Description | None = None
    enabled: bool | None = None


class SecretRotation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Rotate the signing secret; the old one keeps signing for ``overlap_seconds`` more."""

    overlap_seconds: OverlapSeconds = 24 * 3600


class Webhook(msgspec.Struct, frozen=True, kw_only=True):
    """An endpoint as its owner sees it (the secret is never shown again after creation)."""

    id: UUID
    url: str
    event_types: list[str]
    description: str
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None
    consecutive_failures: int
    secret_hint: str
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(msgspec.Struct, frozen=True, kw_only=True):
    """The new endpoint and its signing secret, shown this once."""

    id: UUID
    url: str
    event_types: list[str]
    description: str
    status: Literal["enabled", "disabled"]
    secret: str
    created_at: datetime


class WebhookDeleted(msgspec.Struct, frozen=True, kw_only=True):
    """The endpoint was removed, with its pending deliveries and its log."""

    id: UUID
    deleted: bool = True


class RotatedSecret(msgspec.Struct, frozen=True, kw_only=True):
    """The new signing secret (shown once) and until when the previous one still signs."""

    id: UUID
    secret: str
    previous_secret_expires_at: datetime | None


class WebhookPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the caller's endpoints, oldest first."""

    items: list[Webhook]
    next_cursor: str | None


class DeliveryAttempt(msgspec.Struct, frozen=True, kw_only=True):
    """One HTTP attempt: the receiver's status code (none when it could not be reached)."""

    attempt: int
    at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One notification's delivery to one endpoint, with every attempt."""

    id: UUID
    endpoint_id: UUID
    event_id: UUID
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: list[DeliveryAttempt]
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class RedeliveryScheduled(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery that will be sent again at ``next_attempt_at`` (now), same event id."""

    id: UUID
    status: Literal["pending"] = "pending"
    next_attempt_at: datetime


class DeliveryPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of an endpoint's delivery log, newest first."""

    items: list[Delivery]
    next_cursor: str | None


# -- the signature -------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<body>"`` keyed with ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets: list[str], timestamp: int, body: bytes) -> str:
    """The ``Ring-Signature`` value: ``t=<timestamp>`` and one ``v1=`` per secret."""
    return ",".join([f"t={timestamp}", *(f"v1={signature(s, timestamp, body)}" for s in secrets)])


def verify_signature(
    secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds of ``now``.

    What a receiver runs on every delivery (before trusting or even parsing the body).
    """
    fields = [part.partition("=") for part in header.split(",")]
    stamps = [value for key, _, value in fields if key.strip() == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(
        hmac.compare_digest(expected, value.strip()) for key, _, value in fields if key == "v1"
    )
