"""The delivery worker: sends due webhook deliveries, signed, and records every attempt.

A background loop of the service process. Each round claims due deliveries (with a lease, see
:mod:`ring_notification.webhooks`), POSTs them concurrently, and records each outcome in one
transaction with the endpoint's failure streak: a 2xx is delivered; anything else (another
status, a timeout, a refused connection, a redirect) is retried on the schedule of
:class:`~ring_notification.domain.RetryPolicy` or, after the last attempt, failed. When the
streak reaches the :class:`~ring_notification.domain.DisablePolicy`, the endpoint is disabled
and its party gets a ``webhook_endpoint.disabled`` notification (stream and other endpoints).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, uuid5

import httpx

from ring_events.notifications import SIGNATURE_HEADER, signature_header
from ring_notification.config import NotificationConfig
from ring_notification.domain import UnsafeTarget, check_target, endpoint_host, next_health
from ring_notification.integration import Draft
from ring_notification.projections import FeedProjection
from ring_notification.webhooks import DueDelivery, WebhookStore
from ring_runtime.resilience import TaskHealth
from ring_runtime.timers import Clock

log = logging.getLogger("ring.notification.delivery")

#: Deliveries claimed per round.
BATCH_SIZE = 50

#: Resolves a host name to its IP addresses (text).
Resolver = Callable[[str], list[str]]


def resolve_host(host: str) -> list[str]:
    """Every address ``host`` resolves to (empty when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


class DeliveryWorker:
    """Sends due deliveries every ``interval`` seconds until stopped."""

    def __init__(
        self,
        webhooks: WebhookStore,
        feed: FeedProjection,
        config: NotificationConfig,
        clock: Clock,
        client: httpx.AsyncClient,
        resolve: Resolver = resolve_host,
    ) -> None:
        self.webhooks = webhooks
        self.feed = feed
        self.config = config
        self.clock = clock
        self.client = client
        self.resolve = resolve
        self.lease = timedelta(seconds=config.timeout + 30)
        self._stopping = asyncio.Event()
        self.health = TaskHealth()

    async def run(self, interval: float) -> None:
        """Deliver what is due, then wait ``interval`` (less when a round was full)."""
        while not self._stopping.is_set():
            try:
                sent = await self.deliver_due()
            except Exception as error:  # the loop must outlive a database outage; /ready shows it
                self.health.failed(error)
                log.exception("webhook delivery round failed; trying again in %.1f s", interval)
                sent = 0
            else:
                self.health.recovered()
            if sent >= BATCH_SIZE:
                continue
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=interval)
            except TimeoutError:
                continue

    def stop(self) -> None:
        """Ask :meth:`run` to return after its current round."""
        self._stopping.set()

    async def deliver_due(self) -> int:
        """One round: claim due deliveries and attempt each once; returns how many."""
        due = await asyncio.to_thread(
            self.webhooks.claim_due, self.clock.now(), self.lease, BATCH_SIZE
        )
        await asyncio.gather(*(self.attempt(delivery) for delivery in due))
        return len(due)

    async def attempt(self, delivery: DueDelivery) -> None:
        """Send ``delivery`` once and record the outcome."""
        at = self.clock.now()
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Ring-Webhooks/1",
            SIGNATURE_HEADER: signature_header(
                delivery.secrets.valid(at), int(at.timestamp()), body
            ),
        }
        status: int | None = None
        error: str | None = None
        started = time.perf_counter()
        try:
            if self.config.production:
                addresses = await asyncio.to_thread(self.resolve, endpoint_host(delivery.url))
                check_target(delivery.url, addresses, production=True)
            response = await self.client.post(
                delivery.url,
                content=body,
                headers=headers,
                timeout=self.config.timeout,
                follow_redirects=False,
            )
            status = response.status_code
            if not 200 <= status < 300:
                error = f"the receiver answered HTTP {status}"
        except UnsafeTarget as refused:
            error = f"target refused: {refused}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"[:1000]
        latency_ms = int((time.perf_counter() - started) * 1000)
        await asyncio.to_thread(self._record, delivery, at, status, latency_ms, error)

    def _record(
        self,
        delivery: DueDelivery,
        at: datetime,
        status: int | None,
        latency_ms: int,
        error: str | None,
    ) -> None:
        succeeded = error is None
        next_at = (
            None if succeeded else self.config.retry.next_attempt(delivery.round_attempts + 1, at)
        )
        with self.webhooks.transaction() as conn:
            current = self.webhooks.health(conn, delivery.endpoint_id)
            if current is None:
                return  # the endpoint was deleted meanwhile, with its deliveries
            health, endpoint_status = current
            self.webhooks.record_attempt(
                conn,
                delivery,
                at=at,
                status_code=status,
                latency_ms=latency_ms,
                error=error,
                next_attempt_at=next_at,
                succeeded=succeeded,
            )
            health, disable = next_health(health, succeeded, self.config.disable, at)
            self.webhooks.set_health(conn, delivery.endpoint_id, health, at)
            if not disable or endpoint_status != "enabled":
                return
            reason = (
                f"{health.consecutive_failures} attempts in a row failed since "
                f"{health.failing_since:%Y-%m-%d %H:%M} UTC; last: {error}"
            )
            self.webhooks.update(
                conn,
                delivery.endpoint_id,
                {"status": "disabled", "disabled_reason": reason, "updated_at": at},
            )
            log.warning("webhook endpoint %s disabled: %s", delivery.endpoint_id, reason)
            notice = Draft(
                id=uuid5(NAMESPACE_URL, f"ring:webhook-disabled:{delivery.endpoint_id}:{at}"),
                party_id=delivery.party_id,
                type="webhook_endpoint.disabled",
                data={
                    "endpoint_id": str(delivery.endpoint_id),
                    "url": delivery.url,
                    "reason": reason,
                    "disabled_at": at.isoformat(),
                },
            )
            self.feed.append(conn, notice, created_at=at)
