"""Webhooks and the live event stream: a party's own events, pushed (decision 0013).

``/v1/webhooks`` manages the caller's endpoints (Party A and B); deliveries are signed with
``Ring-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``.
``GET /v1/events/stream`` is the same notifications as Server-Sent Events, resumable with
``Last-Event-ID``. Both are served by the notification service; the gateway checks the role and
passes the caller on, and relays the stream chunk by chunk as it comes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import Stream

from ring_events.notifications import (
    EVENT_TYPES,
    DeliveryPage,
    Notification,
    RedeliveryScheduled,
    RotatedSecret,
    SecretRotation,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookDeleted,
    WebhookPage,
    WebhookUpdate,
)
from ring_gateway.api.proxy import Route, page
from ring_gateway.api.support import A, B, Gateway, example, relay, roles
from ring_gateway.tokens import Principal
from ring_gateway.upstream import UpstreamResponse, UpstreamUnavailable

SERVICE = "notification"

#: A stream lives as long as the client stays; only connecting is bounded.
STREAM_TIMEOUT = httpx.Timeout(None, connect=2.0)

_TYPES = "\n".join(f"- `{name}`: {meaning}" for name, meaning in EVENT_TYPES.items())
WEBHOOKS_DESCRIPTION = f"""\
Webhook endpoints of the caller (Party A or B). Each gets the caller's own notifications of the
subscribed `event_types` (empty: all) as a POST of the versioned JSON payload
`{{"id", "type", "version", "created_at", "sequence", "party_id", "data"}}`, signed:

`Ring-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the secret>`

(two `v1=` while a rotated secret overlaps its successor). Verify the signature over the raw
body and reject timestamps older than a few minutes; deduplicate on `id` (delivery is
at-least-once). Any 2xx answer within the timeout is success; anything else is retried with
exponential backoff (10 s doubling to 6 h, 20 attempts by default). An endpoint failing
continuously (20 attempts over 72 h by default) is disabled and the party is sent a
`webhook_endpoint.disabled` notification; `PATCH {{"enabled": true}}` resumes it.

Event types:

{_TYPES}
"""


_ID = "5b0f7a2e-3c1d-4e8f-9a6b-2d4c6e8f0a1b"
_AT = "2026-11-30T12:00:00Z"
WEBHOOK_EXAMPLE: dict[str, Any] = {
    "id": _ID,
    "url": "https://hooks.example.com/ring",
    "event_types": ["order.submitted", "order.settled"],
    "description": "ERP integration",
    "status": "enabled",
    "disabled_reason": None,
    "consecutive_failures": 0,
    "secret_hint": "…Xk2Q",
    "previous_secret_expires_at": None,
    "created_at": _AT,
    "updated_at": _AT,
}
_CREATED = {
    key: WEBHOOK_EXAMPLE[key]
    for key in ("id", "url", "event_types", "description", "status", "created_at")
} | {"secret": "whsec_3q2+7w…"}
_DELIVERY = {
    "id": "0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f",
    "endpoint_id": _ID,
    "event_id": "8f6e4d2c-0b9a-5876-a543-210fedcba987",
    "event_type": "order.settled",
    "status": "succeeded",
    "attempts": [
        {"attempt": 1, "at": _AT, "status_code": 500, "latency_ms": 41, "error": "HTTP 500"},
        {"attempt": 2, "at": _AT, "status_code": 200, "latency_ms": 35, "error": None},
    ],
    "next_attempt_at": None,
    "created_at": _AT,
    "delivered_at": _AT,
}
NOTIFICATION_EXAMPLE = {
    "id": "8f6e4d2c-0b9a-5876-a543-210fedcba987",
    "type": "order.settled",
    "version": 1,
    "created_at": _AT,
    "sequence": 17,
    "party_id": "7e2d4c6b-8a9f-4b1c-9d0e-1f2a3b4c5d6e",
    "data": {
        "order_id": "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c",
        "task_id": "3a9e0c1d-2b4f-4e6a-8c7d-5f1e2d3c4b5a",
        "owner_id": "0b7c8f1e-5a51-4c3e-8f0e-3d1f0b8f7a10",
        "provider_id": "7e2d4c6b-8a9f-4b1c-9d0e-1f2a3b4c5d6e",
        "commission_minor": 10000,
        "currency": "CNY",
        "occurred_at": _AT,
    },
}


ROUTES = [
    Route(
        "POST",
        "/v1/webhooks",
        "CreateWebhook",
        "webhooks",
        (A, B),
        SERVICE,
        "/webhooks",
        example(201, _CREATED, "The endpoint, with its secret (shown once)", data=WebhookCreated),
        body=WebhookCreate,
        description=WEBHOOKS_DESCRIPTION,
        doc="Register an endpoint; 422 ``webhook_url_refused`` for a URL the platform may not "
        "call (production: https only, no loopback, private or link-local targets).",
    ),
    Route(
        "GET",
        "/v1/webhooks",
        "ListWebhooks",
        "webhooks",
        (A, B),
        SERVICE,
        "/webhooks",
        example(
            200,
            {"items": [WEBHOOK_EXAMPLE], "next_cursor": None},
            "The caller's endpoints, oldest first",
            data=WebhookPage,
        ),
        query=page(20),
        doc="The caller's endpoints.",
    ),
    Route(
        "GET",
        "/v1/webhooks/{webhook_id:uuid}",
        "GetWebhook",
        "webhooks",
        (A, B),
        SERVICE,
        "/webhooks/{webhook_id}",
        example(200, WEBHOOK_EXAMPLE, "The endpoint", data=Webhook),
        doc="One endpoint of the caller (status, failure streak, secret hint).",
    ),
    Route(
        "PATCH",
        "/v1/webhooks/{webhook_id:uuid}",
        "UpdateWebhook",
        "webhooks",
        (A, B),
        SERVICE,
        "/webhooks/{webhook_id}",
        example(200, WEBHOOK_EXAMPLE, "The changed endpoint", data=Webhook),
        body=WebhookUpdate,
        doc="Change URL, event types or description; ``enabled`` switches the endpoint off or "
        "on again (re-enabling resumes its pending deliveries).",
    ),
    Route(
        "DELETE",
        "/v1/webhooks/{webhook_id:uuid}",
        "DeleteWebhook",
        "webhooks",
        (A, B),
        SERVICE,
        "/webhooks/{webhook_id}",
        example(200, {"id": _ID, "deleted": True}, "The endpoint is gone", data=WebhookDeleted),
        status=200,
        doc="Remove the endpoint with its pending deliveries and its log.",
    ),
    Route(
        "POST",
        "/v1/webhooks/{webhook_id:uuid}/secret/rotate",
        "RotateWebhookSecret",
        "webhooks",
        (A, B),
        SERVICE,
        "/webhooks/{webhook_id}/secret/rotate",
        example(
            200,
            {"id": _ID, "secret": "whsec_9Hc…", "previous_secret_expires_at": _AT},
            "The new secret (shown once)",
            data=RotatedSecret,
        ),
        status=200,
        body=SecretRotation,
        body_optional=True,
        summary="RotateSecret",
        doc="A new signing secret; the previous one keeps signing (a second ``v1=``) for "
        "``overlap_seconds`` (default one day), so receivers switch without a gap.",
    ),
    Route(
        "GET",
        "/v1/webhooks/{webhook_id:uuid}/deliveries",
        "ListWebhookDeliveries",
        "webhooks",
        (A, B),
        SERVICE,
        "/webhooks/{webhook_id}/deliveries",
        example(
            200,
            {"items": [_DELIVERY], "next_cursor": None},
            "The delivery log, newest first",
            data=DeliveryPage,
        ),
        query=page(20),
        summary="ListDeliveries",
        doc="Every delivery with each attempt's status code (none when unreachable), error and "
        "latency; ``next_attempt_at`` for those still being retried.",
    ),
    Route(
        "POST",
        "/v1/webhooks/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/redeliver",
        "RedeliverWebhook",
        "webhooks",
        (A, B),
        SERVICE,
        "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
        example(
            202,
            {"id": _DELIVERY["id"], "status": "pending", "next_attempt_at": _AT},
            "Scheduled: sent again now, with a fresh retry schedule",
            data=RedeliveryScheduled,
        ),
        status=202,
        summary="Redeliver",
        doc="Send a delivery again (same event id), whatever its status.",
    ),
]


STREAM_DESCRIPTION = """\
The caller's notifications (the webhook payloads, same ids) as Server-Sent Events, for as long
as the connection stays open. Each event has `id:` = the notification's `sequence` (gapless per
party), `event:` = its type and `data:` = the JSON payload; comments keep idle connections
open. Reconnect with `Last-Event-ID: <last id seen>` (browsers' EventSource do this
themselves) to resume exactly after it; without it (or `?after=`) the stream starts from the
first notification the party ever had.
"""


@get(
    "/v1/events/stream",
    operation_id="StreamEvents",
    tags=["events"],
    description=STREAM_DESCRIPTION,
    guards=[roles(A, B)],
    responses=example(
        200,
        NOTIFICATION_EXAMPLE,
        "An endless text/event-stream; each event's data is one notification",
        data=Notification,
        media_type="text/event-stream",
    ),
)
async def stream_events(
    principal: NamedDependency[Principal],
    gw: NamedDependency[Gateway],
    last_event_id: Annotated[
        str | None,
        HeaderParameter(
            name="Last-Event-ID",
            max_length=40,
            description="The `id` of the last event received; the stream resumes after it",
        ),
    ] = None,
    after: Annotated[
        int | None,
        QueryParameter(ge=0, description="Start after this sequence (when no Last-Event-ID)"),
    ] = None,
) -> Response[Any]:
    """Server-Sent Events of the caller's own notifications, resumable (Party A and B)."""
    extra = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        extra["Last-Event-ID"] = last_event_id
    headers = gw.upstreams.request_headers(principal, extra)
    client = gw.upstreams.client
    request = client.build_request(
        "GET",
        gw.upstreams.base_urls[SERVICE] + "/events/stream",
        params={"after": after} if after is not None else None,
        headers=headers,
        timeout=STREAM_TIMEOUT,
    )
    try:
        upstream = await client.send(request, stream=True)
    except httpx.HTTPError:
        raise UpstreamUnavailable("the notification service is unavailable; retry later") from None
    if upstream.status_code != 200:
        body = await upstream.aread()
        await upstream.aclose()
        content_type = upstream.headers.get("content-type", "application/json")
        return relay(UpstreamResponse(upstream.status_code, body, content_type))

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
        except httpx.HTTPError:
            return  # the service went away: the stream ends, the client resumes with its id
        finally:
            await upstream.aclose()

    return Stream(
        chunks(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
