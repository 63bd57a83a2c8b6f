"""Internal HTTP API of the notification service (reached through the gateway).

The acting party comes from the gateway's signed actor assertion; every route works on that party's own
endpoints and feed only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from ring_events.notifications import (
    DeliveryPage,
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
from ring_notification.application import Notifications
from ring_notification.domain import InvalidLastEventId
from ring_runtime.http import Cursor, Limit

#: How often an idle stream looks for new notifications.
STREAM_POLL_SECONDS = 0.25
#: An idle stream sends a comment this often, so proxies keep the connection open.
KEEPALIVE_SECONDS = 15.0
#: The reconnection delay suggested to clients (``retry:``), in milliseconds.
RECONNECT_MS = 2000


class WebhookController(Controller):
    """The caller's webhook endpoints and their delivery logs."""

    path = "/webhooks"
    tags = ["webhooks"]

    @post("/", operation_id="CreateWebhook", sync_to_thread=True)
    def create_webhook(
        self,
        data: JSONBody[WebhookCreate],
        actor: NamedDependency[UUID],
        notifications: NamedDependency[Notifications],
    ) -> WebhookCreated:
        """Register an endpoint; the answer holds its signing secret, shown this once."""
        return notifications.create_webhook(actor, data)

    @get("/", operation_id="ListWebhooks", sync_to_thread=True)
    def list_webhooks(
        self,
        actor: NamedDependency[UUID],
        notifications: NamedDependency[Notifications],
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> WebhookPage:
        """The caller's endpoints, oldest first."""
        return notifications.list_webhooks(actor, cursor, limit)

    @get("/{webhook_id:uuid}", operation_id="GetWebhook", sync_to_thread=True)
    def get_webhook(
        self,
        webhook_id: FromPath[UUID],
        actor: NamedDependency[UUID],
        notifications: NamedDependency[Notifications],
    ) -> Webhook:
        """One endpoint."""
        return notifications.get_webhook(actor, webhook_id)

    @patch("/{webhook_id:uuid}", operation_id="UpdateWebhook", sync_to_thread=True)
    def update_webhook(
        self,
        webhook_id: FromPath[UUID],
        data: JSONBody[WebhookUpdate],
        actor: NamedDependency[UUID],
        notifications: NamedDependency[Notifications],
    ) -> Webhook:
        """Change URL, filters or description; ``enabled`` switches it off or on again."""
        return notifications.update_webhook(actor, webhook_id, data)

    @delete(
        "/{webhook_id:uuid}",
        operation_id="DeleteWebhook",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
    )
    def delete_webhook(
        self,
        webhook_id: FromPath[UUID],
        actor: NamedDependency[UUID],
        notifications: NamedDependency[Notifications],
    ) -> WebhookDeleted:
        """Remove the endpoint with its pending deliveries and log."""
        notifications.delete_webhook(actor, webhook_id)
        return WebhookDeleted(id=webhook_id)

    @post(
        "/{webhook_id:uuid}/secret/rotate",
        operation_id="RotateWebhookSecret",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
    )
    def rotate_secret(
        self,
        webhook_id: FromPath[UUID],
        data: JSONBody[SecretRotation],
        actor: NamedDependency[UUID],
        notifications: NamedDependency[Notifications],
    ) -> RotatedSecret:
        """A new secret (shown once); the previous one signs too until the overlap ends."""
        return notifications.rotate_secret(actor, webhook_id, data)

    @get("/{webhook_id:uuid}/deliveries", operation_id="ListWebhookDeliveries", sync_to_thread=True)
    def list_deliveries(
        self,
        webhook_id: FromPath[UUID],
        actor: NamedDependency[UUID],
        notifications: NamedDependency[Notifications],
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> DeliveryPage:
        """The delivery log, newest first: every attempt's status code and latency."""
        return notifications.deliveries(actor, webhook_id, cursor, limit)

    @post(
        "/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/redeliver",
        operation_id="RedeliverWebhook",
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
    )
    def redeliver(
        self,
        webhook_id: FromPath[UUID],
        delivery_id: FromPath[UUID],
        actor: NamedDependency[UUID],
        notifications: NamedDependency[Notifications],
    ) -> RedeliveryScheduled:
        """Send the delivery again now, with a fresh retry schedule."""
        return notifications.redeliver(actor, webhook_id, delivery_id)


def resume_point(last_event_id: str | None, after: int | None) -> int:
    """The sequence a stream resumes after: ``Last-Event-ID`` wins over ``?after=``.

    Raises:
        InvalidLastEventId: ``Last-Event-ID`` is not a sequence number.
    """
    if last_event_id is not None and last_event_id.strip():
        text = last_event_id.strip()
        if not text.isdigit() or len(text) > 18:
            raise InvalidLastEventId("Last-Event-ID must be the id of an event of this stream")
        return int(text)
    return after or 0


@get("/events/stream", operation_id="StreamEvents", tags=["events"])
async def stream_events(
    actor: NamedDependency[UUID],
    notifications: NamedDependency[Notifications],
    last_event_id: Annotated[
        str | None, HeaderParameter(name="Last-Event-ID", max_length=40)
    ] = None,
    after: Annotated[int | None, QueryParameter(ge=0)] = None,
) -> ServerSentEvent:
    """The caller's notifications as Server-Sent Events, from after ``Last-Event-ID``."""
    start = resume_point(last_event_id, after)

    async def events() -> AsyncIterator[ServerSentEventMessage]:
        position = start
        quiet_since = time.monotonic()
        yield ServerSentEventMessage(data=None, comment="ring event stream", retry=RECONNECT_MS)
        while True:
            entries = await asyncio.to_thread(notifications.feed_after, actor, position)
            for entry in entries:
                yield ServerSentEventMessage(id=entry.sequence, event=entry.type, data=entry.body)
                position = entry.sequence
            if entries:
                quiet_since = time.monotonic()
                continue
            if time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                yield ServerSentEventMessage(data=None, comment="keep-alive")
                quiet_since = time.monotonic()
            await asyncio.sleep(STREAM_POLL_SECONDS)

    return ServerSentEvent(events(), headers={"Cache-Control": "no-store"})
