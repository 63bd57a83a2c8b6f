"""The commands and queries of the notification service, one party at a time.

Every method takes the acting party (the gateway's signed actor assertion): a party sees and changes only its own
endpoints, deliveries and feed; another party's endpoint id is simply not found.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from uuid import UUID

from ring_events.notifications import (
    DeliveryPage,
    RedeliveryScheduled,
    RotatedSecret,
    SecretRotation,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
    WebhookUpdate,
)
from ring_notification.config import NotificationConfig
from ring_notification.delivery import Resolver, resolve_host
from ring_notification.domain import (
    MAX_ENDPOINTS_PER_PARTY,
    DeliveryNotFound,
    SigningSecrets,
    Subscription,
    TooManyEndpoints,
    WebhookNotFound,
    check_target,
    endpoint_host,
)
from ring_notification.projections import FeedEntry, FeedProjection
from ring_notification.webhooks import WebhookStore, as_webhook
from ring_runtime.timers import Clock


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes, URL-safe base64."""
    return "whsec_" + secrets.token_urlsafe(32)


class Notifications:
    """Webhook endpoints, their delivery logs, and the party's feed."""

    def __init__(
        self,
        webhooks: WebhookStore,
        feed: FeedProjection,
        config: NotificationConfig,
        clock: Clock,
        resolve: Resolver = resolve_host,
    ) -> None:
        self.webhooks = webhooks
        self.feed = feed
        self.config = config
        self.clock = clock
        self.resolve = resolve

    def _check_target(self, url: str) -> None:
        addresses = self.resolve(endpoint_host(url)) if self.config.production else []
        check_target(url, addresses, production=self.config.production)

    # -- endpoints ---------------------------------------------------------------------------

    def create_webhook(self, party_id: UUID, request: WebhookCreate) -> WebhookCreated:
        """Register an endpoint; its secret is in this answer only.

        Raises:
            UnsafeTarget: the URL may not be called (see :func:`check_target`).
            UnknownEventType: a filter names no notification type.
            TooManyEndpoints: the party has the most endpoints allowed.
        """
        subscription = Subscription.of(request.event_types)
        self._check_target(request.url)
        if self.webhooks.count(party_id) >= MAX_ENDPOINTS_PER_PARTY:
            raise TooManyEndpoints(f"a party may have at most {MAX_ENDPOINTS_PER_PARTY} webhooks")
        secret, now = new_secret(), self.clock.now()
        endpoint_id = self.webhooks.insert(
            party_id, request.url, subscription, request.description, secret, now
        )
        return WebhookCreated(
            id=endpoint_id,
            url=request.url,
            event_types=list(subscription.event_types),
            description=request.description,
            status="enabled",
            secret=secret,
            created_at=now,
        )

    def list_webhooks(self, party_id: UUID, cursor: str | None, limit: int) -> WebhookPage:
        """The party's endpoints, oldest first."""
        rows, following = self.webhooks.page(party_id, cursor, limit)
        return WebhookPage(items=[as_webhook(row) for row in rows], next_cursor=following)

    def get_webhook(self, party_id: UUID, endpoint_id: UUID) -> Webhook:
        """One of the party's endpoints.

        Raises:
            WebhookNotFound: the party has no endpoint with that id.
        """
        row = self.webhooks.row(party_id, endpoint_id)
        if row is None:
            raise WebhookNotFound(f"no webhook {endpoint_id}")
        return as_webhook(row)

    def update_webhook(self, party_id: UUID, endpoint_id: UUID, request: WebhookUpdate) -> Webhook:
        """Change URL, filters, description, or re-enable (clearing the failure streak).

        Raises:
            WebhookNotFound, UnsafeTarget, UnknownEventType: as for creation.
        """
        changes: dict[str, Any] = {}
        if request.url is not None:
            self._check_target(request.url)
            changes["url"] = request.url
        if request.event_types is not None:
            changes["event_types"] = list(Subscription.of(request.event_types).event_types)
        if request.description is not None:
            changes["description"] = request.description
        if request.enabled is not None:
            changes["status"] = "enabled" if request.enabled else "disabled"
            changes["disabled_reason"] = None if request.enabled else "disabled by its owner"
            if request.enabled:
                changes |= {"consecutive_failures": 0, "failing_since": None}
        with self.webhooks.transaction() as conn:
            if self.webhooks.row(party_id, endpoint_id, conn) is None:
                raise WebhookNotFound(f"no webhook {endpoint_id}")
            if changes:
                self.webhooks.update(conn, endpoint_id, {**changes, "updated_at": self.clock.now()})
        return self.get_webhook(party_id, endpoint_id)

    def delete_webhook(self, party_id: UUID, endpoint_id: UUID) -> None:
        """Remove the endpoint, its pending deliveries and its log.

        Raises:
            WebhookNotFound: the party has no endpoint with that id.
        """
        if not self.webhooks.delete(party_id, endpoint_id):
            raise WebhookNotFound(f"no webhook {endpoint_id}")

    def rotate_secret(
        self, party_id: UUID, endpoint_id: UUID, request: SecretRotation
    ) -> RotatedSecret:
        """A new secret, shown once; the old one still signs for the overlap (receivers can
        switch without losing a delivery).

        Raises:
            WebhookNotFound: the party has no endpoint with that id.
        """
        now = self.clock.now()
        with self.webhooks.transaction() as conn:
            row = self.webhooks.row(party_id, endpoint_id, conn)
            if row is None:
                raise WebhookNotFound(f"no webhook {endpoint_id}")
            current = SigningSecrets(row["secret"])
            rotated = current.rotated(new_secret(), now, timedelta(seconds=request.overlap_seconds))
            self.webhooks.update(
                conn,
                endpoint_id,
                {
                    "secret": rotated.current,
                    "previous_secret": rotated.previous,
                    "previous_secret_expires_at": rotated.previous_expires_at,
                    "updated_at": now,
                },
            )
        return RotatedSecret(
            id=endpoint_id,
            secret=rotated.current,
            previous_secret_expires_at=rotated.previous_expires_at,
        )

    # -- deliveries --------------------------------------------------------------------------

    def deliveries(
        self, party_id: UUID, endpoint_id: UUID, cursor: str | None, limit: int
    ) -> DeliveryPage:
        """The endpoint's delivery log, newest first, with each attempt's status and latency.

        Raises:
            WebhookNotFound: the party has no endpoint with that id.
        """
        self.get_webhook(party_id, endpoint_id)
        items, following = self.webhooks.delivery_page(party_id, endpoint_id, cursor, limit)
        return DeliveryPage(items=items, next_cursor=following)

    def redeliver(
        self, party_id: UUID, endpoint_id: UUID, delivery_id: UUID
    ) -> RedeliveryScheduled:
        """Send a delivery again now (whatever its status), with a fresh retry schedule.

        Raises:
            WebhookNotFound: the party has no endpoint with that id.
            DeliveryNotFound: the endpoint has no delivery with that id.
        """
        self.get_webhook(party_id, endpoint_id)
        now = self.clock.now()
        if not self.webhooks.redeliver(party_id, endpoint_id, delivery_id, now):
            raise DeliveryNotFound(f"no delivery {delivery_id} of webhook {endpoint_id}")
        return RedeliveryScheduled(id=delivery_id, next_attempt_at=now)

    # -- the feed ----------------------------------------------------------------------------

    def feed_after(self, party_id: UUID, sequence: int, limit: int = 100) -> list[FeedEntry]:
        """The party's notifications after ``sequence``, oldest first."""
        return self.feed.after(party_id, sequence, limit)
