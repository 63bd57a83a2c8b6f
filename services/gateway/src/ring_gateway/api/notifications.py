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
from uuid import UUID

import httpx
from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

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
from ring_gateway.api.support import A, B, Gateway, forward, relay, require
from ring_gateway.tokens import Principal
from ring_gateway.upstream import UpstreamResponse, UpstreamUnavailable
from ring_runtime.http import Cursor, Limit

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


def _spec(
    container: Any, description: str, example: Any, media_type: str = "application/json"
) -> ResponseSpec:
    """A typed answer (its schema from the shared DTO) with one example."""
    return ResponseSpec(
        data_container=container,
        description=description,
        media_type=media_type,
        generate_examples=False,
        examples=[Example(summary=description, value=example)],
    )


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


class WebhookController(Controller):
    """The caller's webhook endpoints and their delivery logs."""

    path = "/v1/webhooks"
    tags = ["webhooks"]

    @post(
        "/",
        operation_id="CreateWebhook",
        description=WEBHOOKS_DESCRIPTION,
        responses={
            201: _spec(WebhookCreated, "The endpoint, with its secret (shown once)", _CREATED)
        },
    )
    async def create_webhook(
        self,
        data: JSONBody[WebhookCreate],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """Register an endpoint; 422 ``webhook_url_refused`` for a URL the platform may not
        call (production: https only, no loopback, private or link-local targets)."""
        require(principal, A, B)
        return await forward(gw, principal, SERVICE, "POST", "/webhooks", data=data)

    @get(
        "/",
        operation_id="ListWebhooks",
        responses={
            200: _spec(
                WebhookPage,
                "The caller's endpoints, oldest first",
                {"items": [WEBHOOK_EXAMPLE], "next_cursor": None},
            )
        },
    )
    async def list_webhooks(
        self,
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> Response[bytes]:
        """The caller's endpoints; pass ``next_cursor`` as ``cursor`` for the next page."""
        require(principal, A, B)
        params = {"cursor": cursor, "limit": limit}
        return await forward(gw, principal, SERVICE, "GET", "/webhooks", params=params)

    @get(
        "/{webhook_id:uuid}",
        operation_id="GetWebhook",
        responses={200: _spec(Webhook, "The endpoint", WEBHOOK_EXAMPLE)},
    )
    async def get_webhook(
        self,
        webhook_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """One endpoint of the caller (status, failure streak, secret hint)."""
        require(principal, A, B)
        return await forward(gw, principal, SERVICE, "GET", f"/webhooks/{webhook_id}")

    @patch(
        "/{webhook_id:uuid}",
        operation_id="UpdateWebhook",
        responses={200: _spec(Webhook, "The changed endpoint", WEBHOOK_EXAMPLE)},
    )
    async def update_webhook(
        self,
        webhook_id: FromPath[UUID],
        data: JSONBody[WebhookUpdate],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """Change URL, event types or description; ``enabled`` switches the endpoint off or
        on again (re-enabling resumes its pending deliveries)."""
        require(principal, A, B)
        return await forward(gw, principal, SERVICE, "PATCH", f"/webhooks/{webhook_id}", data=data)

    @delete(
        "/{webhook_id:uuid}",
        operation_id="DeleteWebhook",
        status_code=HTTP_200_OK,
        responses={
            200: _spec(WebhookDeleted, "The endpoint is gone", {"id": _ID, "deleted": True})
        },
    )
    async def delete_webhook(
        self,
        webhook_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """Remove the endpoint with its pending deliveries and its log."""
        require(principal, A, B)
        return await forward(gw, principal, SERVICE, "DELETE", f"/webhooks/{webhook_id}")

    @post(
        "/{webhook_id:uuid}/secret/rotate",
        operation_id="RotateWebhookSecret",
        status_code=HTTP_200_OK,
        responses={
            200: _spec(
                RotatedSecret,
                "The new secret (shown once)",
                {"id": _ID, "secret": "whsec_9Hc…", "previous_secret_expires_at": _AT},
            )
        },
    )
    async def rotate_secret(
        self,
        webhook_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        data: JSONBody[SecretRotation | None] = None,
    ) -> Response[bytes]:
        """A new signing secret; the previous one keeps signing (a second ``v1=``) for
        ``overlap_seconds`` (default one day), so receivers switch without a gap. The body
        may be left out."""
        require(principal, A, B)
        path = f"/webhooks/{webhook_id}/secret/rotate"
        return await forward(gw, principal, SERVICE, "POST", path, data=data or SecretRotation())

    @get(
        "/{webhook_id:uuid}/deliveries",
        operation_id="ListWebhookDeliveries",
        responses={
            200: _spec(
                DeliveryPage,
                "The delivery log, newest first",
                {"items": [_DELIVERY], "next_cursor": None},
            )
        },
    )
    async def list_deliveries(
        self,
        webhook_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> Response[bytes]:
        """Every delivery with each attempt's status code (none when unreachable), error and
        latency; ``next_attempt_at`` for those still being retried."""
        require(principal, A, B)
        params = {"cursor": cursor, "limit": limit}
        path = f"/webhooks/{webhook_id}/deliveries"
        return await forward(gw, principal, SERVICE, "GET", path, params=params)

    @post(
        "/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/redeliver",
        operation_id="RedeliverWebhook",
        status_code=HTTP_202_ACCEPTED,
        responses={
            202: _spec(
                RedeliveryScheduled,
                "Scheduled: sent again now, with a fresh retry schedule",
                {"id": _DELIVERY["id"], "status": "pending", "next_attempt_at": _AT},
            )
        },
    )
    async def redeliver(
        self,
        webhook_id: FromPath[UUID],
        delivery_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """Send a delivery again (same event id), whatever its status."""
        require(principal, A, B)
        path = f"/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"
        return await forward(gw, principal, SERVICE, "POST", path)


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
    responses={
        200: _spec(
            Notification,
            "An endless text/event-stream; each event's data is one notification",
            NOTIFICATION_EXAMPLE,
            "text/event-stream",
        )
    },
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
    require(principal, A, B)
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
