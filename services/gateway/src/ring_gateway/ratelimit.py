"""Rate limits of the auth endpoints: token buckets per client IP and per account and IP.

Buckets are kept in the gateway process's memory (decision 0008): cheap, no round trip on the
hot path, and good enough against password guessing from one source. With N gateway replicas
the effective limit is N times the configured one; a shared store (PostgreSQL, Redis) is the
upgrade path if that ever matters.

Decision 0012 fixed three weaknesses: a refused request creates no bucket (a flood of refused
requests cannot grow the table); the table is bounded by evicting the least recently used
bucket (never by clearing it, which reset everyone's limits); and the account bucket is keyed
by account *and* client IP, so guessing a password from elsewhere slows the guesser without
locking the owner out. The client IP is what uvicorn derives from ``X-Forwarded-For`` when the
peer is one of ``RING_TRUSTED_PROXIES`` (the ingress), so clients behind one ingress do not
share a bucket.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


class RateLimited(Exception):
    """Too many requests; ``retry_after`` seconds until the next one is allowed."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets of ``per_minute`` capacity refilled at ``per_minute`` tokens a minute,
    at most ``max_keys`` of them (the least recently used one goes first)."""

    def __init__(
        self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def hit(self, *keys: str) -> None:
        """Take one token from each bucket of ``keys``.

        Raises:
            RateLimited: one of the buckets is empty; then no bucket is charged or created
                (the existing ones count as recently used).
        """
        now = self._clock()
        levels = [self._level(key, now) for key in keys]
        empty = [tokens for tokens in levels if tokens < 1.0]
        if empty:
            for key in keys:  # an active client's empty bucket is the last to be evicted
                if key in self._buckets:
                    self._buckets.move_to_end(key)
            wait = max((1.0 - tokens) / self.rate for tokens in empty)
            raise RateLimited("too many attempts; try again later", max(1, math.ceil(wait)))
        for key, tokens in zip(keys, levels, strict=True):
            self._buckets[key] = _Bucket(tokens - 1.0, now)
            self._buckets.move_to_end(key)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)

    def _level(self, key: str, now: float) -> float:
        """Tokens in ``key``'s bucket at ``now`` (a full bucket if it has none yet)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return self.capacity
        return min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
