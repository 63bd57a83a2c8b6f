"""The rules of webhook endpoints and deliveries, free of I/O.

* **Retries**: a failed attempt is retried after ``first_delay * 2^(n-1)`` (capped at
  ``max_delay``) until ``max_attempts`` attempts were made; then the delivery has failed.
* **Disabling**: an endpoint whose attempts have all failed for at least ``after`` and at
  least ``after_failures`` times in a row is disabled (the party is told); any success resets
  the streak. A disabled endpoint gets no new deliveries; re-enabling resumes pending ones.
* **Secrets**: a rotated-out secret keeps signing beside its successor until its overlap ends.
* **Targets**: in production only ``https`` URLs whose host resolves to public addresses;
  in development ``http`` and local hosts too (receivers on the developer's machine).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from ring_events.notifications import EVENT_TYPES

#: Most endpoints one party may register.
MAX_ENDPOINTS_PER_PARTY = 16


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed delivery is tried again, and when it is given up."""

    first_delay: timedelta = timedelta(seconds=10)
    max_delay: timedelta = timedelta(hours=6)
    max_attempts: int = 20

    def next_attempt(self, attempts_made: int, now: datetime) -> datetime | None:
        """When to try again after ``attempts_made`` failed attempts; ``None``: give up."""
        if attempts_made >= self.max_attempts:
            return None
        return now + self.delay(attempts_made)

    def delay(self, attempts_made: int) -> timedelta:
        """The wait after the ``attempts_made``-th failure: doubling, capped."""
        doubled: timedelta = self.first_delay * (2 ** min(max(attempts_made - 1, 0), 40))
        return min(doubled, self.max_delay)

    def schedule(self) -> list[timedelta]:
        """Every wait between attempts, first to last (for documentation and tests)."""
        return [self.delay(n) for n in range(1, self.max_attempts)]


@dataclass(frozen=True)
class DisablePolicy:
    """How long and how often an endpoint must keep failing before it is disabled."""

    after_failures: int = 20
    after: timedelta = timedelta(hours=72)


@dataclass(frozen=True)
class EndpointHealth:
    """An endpoint's failure streak: how many attempts failed in a row, since when."""

    consecutive_failures: int = 0
    failing_since: datetime | None = None

    def succeeded(self) -> EndpointHealth:
        """Any answered-2xx attempt ends the streak."""
        return EndpointHealth()

    def failed(self, at: datetime) -> EndpointHealth:
        """One more failed attempt."""
        return EndpointHealth(self.consecutive_failures + 1, self.failing_since or at)

    def should_disable(self, policy: DisablePolicy, now: datetime) -> bool:
        """Whether the streak is long enough, in count and in time, to disable the endpoint."""
        return (
            self.failing_since is not None
            and self.consecutive_failures >= policy.after_failures
            and now - self.failing_since >= policy.after
        )


@dataclass(frozen=True)
class SigningSecrets:
    """The current secret and, during a rotation's overlap, the previous one."""

    current: str
    previous: str | None = None
    previous_expires_at: datetime | None = None

    def valid(self, now: datetime) -> list[str]:
        """The secrets a delivery is signed with at ``now`` (current first)."""
        if (
            self.previous is not None
            and self.previous_expires_at is not None
            and now < self.previous_expires_at
        ):
            return [self.current, self.previous]
        return [self.current]

    def rotated(self, new_secret: str, now: datetime, overlap: timedelta) -> SigningSecrets:
        """``new_secret`` becomes current; the current one signs beside it for ``overlap``."""
        if overlap <= timedelta(0):
            return SigningSecrets(new_secret)
        return SigningSecrets(new_secret, self.current, now + overlap)


@dataclass(frozen=True)
class Subscription:
    """Which event types an endpoint wants (empty: every type)."""

    event_types: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, names: Iterable[str]) -> Subscription:
        """A subscription to ``names``, checked against the catalogue.

        Raises:
            UnknownEventType: a name is not a notification type.
        """
        wanted = tuple(dict.fromkeys(names))
        unknown = [name for name in wanted if name not in EVENT_TYPES and name != "*"]
        if unknown:
            raise UnknownEventType(
                f"unknown event types {unknown}; known: {sorted(EVENT_TYPES)}",
                details={"unknown": unknown},
            )
        return cls(() if "*" in wanted else wanted)

    def accepts(self, event_type: str) -> bool:
        """Whether a notification of ``event_type`` goes to this endpoint."""
        return not self.event_types or event_type in self.event_types


def check_target(url: str, addresses: Sequence[str], *, production: bool) -> None:
    """Refuse a webhook target the platform must not call.

    Args:
        url: the target.
        addresses: what its host resolves to (IP addresses as text).
        production: production mode (``RING_ENV=production``).

    Raises:
        UnsafeTarget: not http(s), no host, credentials in the URL, or (production) not https,
            or resolving to a loopback, private, link-local or otherwise non-public address.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget("the webhook URL must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise UnsafeTarget("the webhook URL must not carry credentials")
    if not production:
        return
    if parts.scheme != "https":
        raise UnsafeTarget("webhook URLs must use https")
    if not addresses:
        raise UnsafeTarget(f"the host {parts.hostname!r} does not resolve")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise UnsafeTarget(
                f"the host {parts.hostname!r} resolves to a non-public address ({address})"
            )


def endpoint_host(url: str) -> str:
    """The host name of a target URL (what is resolved for :func:`check_target`)."""
    return urlsplit(url).hostname or ""


def next_health(
    health: EndpointHealth, succeeded: bool, policy: DisablePolicy, now: datetime
) -> tuple[EndpointHealth, bool]:
    """The endpoint's streak after one attempt, and whether it must now be disabled."""
    if succeeded:
        return health.succeeded(), False
    after = health.failed(now)
    return after, after.should_disable(policy, now)


# -- errors a client can cause ----------------------------------------------------------------


class NotificationError(Exception):
    """Base of the notification service's client errors (each has a stable ``code``)."""

    code = "notification_error"

    def __init__(self, message: str, details: object = None) -> None:
        super().__init__(message)
        self.details = details


class UnsafeTarget(NotificationError):
    """The webhook URL is not one the platform may call."""

    code = "webhook_url_refused"


class UnknownEventType(NotificationError):
    """An event type filter names a type that does not exist."""

    code = "unknown_event_type"


class WebhookNotFound(NotificationError):
    """No endpoint of the caller has that id."""

    code = "webhook_not_found"


class DeliveryNotFound(NotificationError):
    """The endpoint has no delivery with that id."""

    code = "delivery_not_found"


class TooManyEndpoints(NotificationError):
    """The party already has :data:`MAX_ENDPOINTS_PER_PARTY` endpoints."""

    code = "too_many_webhooks"


class InvalidLastEventId(NotificationError):
    """``Last-Event-ID`` is not a sequence number of the stream."""

    code = "invalid_last_event_id"
