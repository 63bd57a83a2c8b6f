"""Rate limits of the auth endpoints: a token bucket per client IP and per email.

Buckets are kept in the gateway process's memory (decision 0007): cheap, no round trip on the
hot path, and good enough against password guessing from one source. With N gateway replicas
the effective limit is N times the configured one; a shared store (PostgreSQL, Redis) is the
upgrade path if that ever matters.
"""

from __future__ import annotations

import math
import time
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
    """Token buckets of ``per_minute`` capacity refilled at ``per_minute`` tokens a minute."""

    def __init__(
        self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def hit(self, *keys: str) -> None:
        """Take one token from each bucket of ``keys``.

        Raises:
            RateLimited: one of the buckets is empty (no bucket is charged then).
        """
        now = self._clock()
        buckets = [self._bucket(key, now) for key in keys]
        empty = [b for b in buckets if b.tokens < 1.0]
        if empty:
            wait = max((1.0 - b.tokens) / self.rate for b in empty)
            raise RateLimited("too many attempts; try again later", max(1, math.ceil(wait)))
        for bucket in buckets:
            bucket.tokens -= 1.0

    def _bucket(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._evict(now)
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        return bucket

    def _evict(self, now: float) -> None:
        full_after = self.capacity / self.rate
        for key, bucket in list(self._buckets.items()):
            if now - bucket.updated >= full_after:
                del self._buckets[key]
        if len(self._buckets) >= self._max_keys:
            self._buckets.clear()
