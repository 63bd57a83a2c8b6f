"""Wiring of the notification service: ``create_app(settings)`` and the :data:`SERVICE` entry.

The process consumes the task, voucher, dispute and ledger topics into each party's feed
(exactly once, webhook deliveries queued in the same transaction), runs the delivery worker
as a background loop, and serves the webhook API and the live event stream. It publishes
nothing and keeps no aggregates: its state is the feed (derived from the topics) and the
webhook tables (decision 0013).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from litestar import Litestar
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from ring_notification import domain
from ring_notification.api import WebhookController, stream_events
from ring_notification.application import Notifications
from ring_notification.config import NotificationConfig
from ring_notification.consumers import processors
from ring_notification.delivery import DeliveryWorker, Resolver, resolve_host
from ring_notification.projections import FeedProjection
from ring_notification.webhooks import WebhookStore
from ring_runtime.process import create_service_app
from ring_runtime.projection import ProjectionStore
from ring_runtime.rebuild import TopicReadModel
from ring_runtime.service import ServiceDefinition
from ring_runtime.settings import Settings
from ring_runtime.timers import Clock, SystemClock

#: Each client-caused error, mapped once to its HTTP status.
ERROR_STATUSES: dict[type[Exception], int] = {
    domain.UnsafeTarget: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.UnknownEventType: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.WebhookNotFound: HTTP_404_NOT_FOUND,
    domain.DeliveryNotFound: HTTP_404_NOT_FOUND,
    domain.TooManyEndpoints: HTTP_409_CONFLICT,
    domain.InvalidLastEventId: HTTP_400_BAD_REQUEST,
}


@dataclass(frozen=True)
class NotificationParts:
    """The running parts of a notification app, for tests and operators' tools."""

    notifications: Notifications
    feed: FeedProjection
    webhooks: WebhookStore
    worker: DeliveryWorker


def create_app(
    settings: Settings,
    *,
    config: NotificationConfig | None = None,
    clock: Clock | None = None,
    resolve: Resolver = resolve_host,
) -> Litestar:
    """The notification service process.

    Args:
        settings: process settings.
        config: retry, disabling and target rules (default: from the environment).
        clock: source of "now" for schedules and logs (default: the wall clock).
        resolve: host name → addresses, for the production target check.
    """
    config = config or NotificationConfig.from_environ()
    clock = clock or SystemClock()
    store = ProjectionStore(settings.database_url, settings.db_schema, "notification")
    webhooks = WebhookStore(store)
    feed = FeedProjection(store, webhooks, clock)
    notifications = Notifications(webhooks, feed, config, clock, resolve)
    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))
    worker = DeliveryWorker(webhooks, feed, config, clock, client, resolve)
    app = create_service_app(
        settings=settings,
        title="Ring notification-service (internal)",
        route_handlers=[WebhookController, stream_events],
        application=None,
        translator=None,
        processors=processors(feed),
        read_models=[feed, webhooks],
        domain_errors=ERROR_STATUSES,
        dependencies={"notifications": notifications},
        background=[worker],
        background_interval=config.poll_interval,
    )
    app.on_shutdown.append(client.aclose)
    app.state.notification_parts = NotificationParts(notifications, feed, webhooks, worker)
    return app


def feed_in(settings: Settings, schema: str) -> TopicReadModel:
    """The notification feeds, written to ``schema`` (a rebuild's scratch). A party's sequence
    numbers (and the body that carries one) follow the order in which its events of different
    tasks, orders and disputes arrived, so they are not compared; the webhook tables are there
    for the handler to write to (a scratch schema has no endpoints, so no deliveries)."""
    store = ProjectionStore(settings.database_url, schema, "notification")
    webhooks = WebhookStore(store)
    feed = FeedProjection(store, webhooks, SystemClock())
    return TopicReadModel(
        store=store,
        processors=feed.processors(),
        tables=["notification_feed", "notification_parties", "notification_disputes"],
        statements=[*feed.ddl(), *webhooks.ddl()],
        unordered={"notification_feed": ["sequence", "body"]},
    )


SERVICE = ServiceDefinition(
    name="notification", create_app=create_app, read_models={"feed": feed_in}
)
