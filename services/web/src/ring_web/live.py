"""Live updates: which of the objects on a page changed, pushed to the browser as Server-Sent
Events (``GET /live?topic=order:<id>``); the page then re-reads the part of itself that shows
them.

A :class:`ChangeFeed` says *which* topics changed. Until the gateway's own event stream exists,
:class:`PollingChangeFeed` finds out by reading the topics' objects through the public API every
couple of seconds and comparing fingerprints (decision 0014): bounded in topics per page, in
frequency and in connection lifetime, so an open tab costs the platform a few cheap reads.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from ring_web.gateway import ApiError, Gateway

#: Topics one page may watch.
MAX_TOPICS = 4
#: A topic is a kind and, for one object, its id.
TOPIC = re.compile(
    r"^(wallet|orders|tasks|disputes|providers)$|^(order|task|dispute):[0-9a-f-]{36}$"
)


class ChangeFeed(Protocol):
    """Which of ``topics`` changed, as the user of ``gateway`` sees them."""

    def changes(self, gateway: Gateway, topics: Sequence[str]) -> AsyncIterator[str]:
        """Yield a topic each time its objects change; ends when the connection should be
        renewed (the browser's EventSource reconnects by itself)."""
        ...


def valid_topics(raw: Sequence[str]) -> list[str]:
    """The well-formed topics among ``raw``, at most :data:`MAX_TOPICS`, without repeats."""
    topics: list[str] = []
    for topic in raw:
        if TOPIC.match(topic) and topic not in topics:
            topics.append(topic)
    return topics[:MAX_TOPICS]


def reads_of(topic: str) -> list[tuple[str, dict[str, str]]]:
    """The gateway reads whose answers make up what a page shows of ``topic``."""
    kind, _, ident = topic.partition(":")
    if kind == "order":
        return [
            (f"/v1/orders/{ident}", {}),
            (f"/v1/orders/{ident}/vouchers", {}),
            (f"/v1/orders/{ident}/messages", {}),
        ]
    if kind == "task":
        return [(f"/v1/tasks/{ident}", {}), ("/v1/orders", {"task_id": ident})]
    if kind == "dispute":
        return [(f"/v1/disputes/{ident}", {})]
    if kind == "wallet":
        return [("/v1/wallet", {"currency": "CNY"})]
    if kind == "disputes":
        return [("/v1/disputes", {})]
    return [("/v1/orders", {})]


class PollingChangeFeed:
    """Polls the gateway reads of each topic; yields a topic when their answers change.

    The first reading of each topic is reported too: the page was rendered a moment before
    its stream connected, and whatever changed in between must not be missed.
    """

    def __init__(self, interval: float = 3.0, lifetime: float = 300.0) -> None:
        self.interval = interval
        self.lifetime = lifetime

    async def changes(self, gateway: Gateway, topics: Sequence[str]) -> AsyncIterator[str]:
        """See :meth:`ChangeFeed.changes`."""
        seen: dict[str, str] = {}
        ends = time.monotonic() + self.lifetime
        while time.monotonic() < ends:
            for topic in topics:
                current = await _fingerprint(gateway, topic)
                if current is None:
                    continue
                if seen.get(topic) != current:
                    yield topic
                seen[topic] = current
            await asyncio.sleep(self.interval)


async def _fingerprint(gateway: Gateway, topic: str) -> str | None:
    """A digest of the topic's answers; ``None`` when the gateway could not answer now."""
    digest = hashlib.sha256()
    for path, params in reads_of(topic):
        try:
            answer = await gateway.call("GET", path, params=params)
        except ApiError:
            return None
        digest.update(json.dumps(answer, sort_keys=True).encode())
    return digest.hexdigest()
