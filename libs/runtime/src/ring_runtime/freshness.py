"""No stale refusals: catch up with the owner of a fact before refusing a command on it.

A service judges some commands against its own projection of another context's events (the
task service against provider standings from matching; the voucher and dispute services against
their order directories of task events). That copy lags the owner's store by the relay and
consumer hop, so a command sent right after an acknowledged write elsewhere could be refused on
old data. The rule (decision 0009):

1. While a command runs, each read of such a projection names its :class:`Upstream` and the
   subjects it asked about (:func:`depends_on`).
2. When the command is refused (403, 404 or 409) after such reads, :class:`Freshness` asks each
   owner how far its log goes for those subjects (``GET /internal/heads``, answered by every
   publishing service from its store), waits until the local consumer has applied that far for
   each aggregate, and judges the command again. A refusal on an up-to-date projection stands.
3. The wait is bounded (``RING_CATCH_UP_TIMEOUT_MS``), cancellable and cheap: it wakes on the
   local consumer's progress (:class:`Progress`), with a slow re-read of the tracking row as a
   backstop for progress made by another replica. Past the bound the answer is
   ``503 catching_up`` with ``Retry-After``: never a refusal the platform cannot stand behind.
   An owner that cannot be asked at all (down) leaves the refusal as judged on the copy.

The happy path pays nothing: the owner is asked only on the refusal path.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import httpx

if TYPE_CHECKING:
    from ring_runtime.consumer import ExactlyOnceProcessor

log = logging.getLogger("ring.freshness")

T = TypeVar("T")

#: HTTP statuses of refusals that may come from a projection that has not caught up.
REFUSALS = frozenset({403, 404, 409})
#: How often a waiter re-reads the tracking row when no local progress woke it (another
#: replica of this service may have applied the event).
BACKSTOP_SECONDS = 0.25
#: Path of the owner's endpoint answering how far its log goes for some subjects.
HEADS_PATH = "/internal/heads"


@dataclass(frozen=True)
class Upstream:
    """Where a projection of another context comes from.

    Attributes:
        consumer: name of the :class:`~ring_runtime.consumer.ExactlyOnceProcessor` feeding it.
        topic: the topic it consumes.
        owner: the service that owns the events (and answers ``/internal/heads``).
    """

    consumer: str
    topic: str
    owner: str

    def tracking_name(self, aggregate_id: str) -> str:
        """The consumer's tracking row for one upstream aggregate (decision 0001)."""
        return f"{self.consumer}|{self.topic}|{aggregate_id}"


@dataclass
class _Reads:
    subjects: dict[Upstream, set[UUID]] = field(default_factory=dict)


_reads: contextvars.ContextVar[_Reads | None] = contextvars.ContextVar(
    "ring_upstream_reads", default=None
)


def depends_on(upstream: Upstream, *subjects: UUID) -> None:
    """Record that the running command read ``upstream``'s projection about ``subjects``.

    Called by projection adapters; outside :meth:`Freshness.judge` it does nothing.
    """
    reads = _reads.get()
    if reads is not None:
        reads.subjects.setdefault(upstream, set()).update(subjects)


class CatchingUp(Exception):
    """The projection a request depends on has not caught up within the bound (503)."""

    code = "catching_up"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))


class Progress:
    """Wakes waiters when a consumer of this process has applied an upstream event.

    Lives on the event loop: :meth:`advanced` is called by the consumer binding after each
    processed message, :meth:`wait` by requests waiting for a position.
    """

    def __init__(self) -> None:
        self._waiters: dict[str, list[tuple[int, asyncio.Future[None]]]] = {}

    def advanced(self, tracking_name: str, notification_id: int) -> None:
        """The consumer's position under ``tracking_name`` is now at least ``notification_id``."""
        waiters = self._waiters.get(tracking_name)
        if not waiters:
            return
        for target, future in waiters:
            if notification_id >= target and not future.done():
                future.set_result(None)

    async def wait(
        self, read_position: Callable[[], int], tracking_name: str, target: int, within: float
    ) -> bool:
        """Until the position under ``tracking_name`` reaches ``target``; False after ``within``
        seconds.

        The waiter registers before it reads the position, so progress between the read and the
        wait cannot be missed.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (target, future)
        self._waiters.setdefault(tracking_name, []).append(entry)
        deadline = loop.time() + within
        try:
            while True:
                if await asyncio.to_thread(read_position) >= target:
                    return True
                left = deadline - loop.time()
                if left <= 0:
                    return False
                try:
                    await asyncio.wait_for(asyncio.shield(future), min(left, BACKSTOP_SECONDS))
                except TimeoutError:
                    continue
                return True
        finally:
            waiters = self._waiters[tracking_name]
            waiters.remove(entry)
            if not waiters:
                del self._waiters[tracking_name]


class Freshness:
    """Runs commands so that a refusal is never based on a projection that lags its owner."""

    def __init__(
        self,
        *,
        progress: Progress,
        processors: Sequence[ExactlyOnceProcessor],
        owners: Mapping[str, str],
        timeout: float,
        statuses: Callable[[BaseException], int | None],
        client: httpx.AsyncClient | None = None,
    ) -> None:
        """Args:
        progress: the process's consumer progress.
        processors: the process's consumers (whose tracking rows are waited on).
        owners: service name → base URL, for ``/internal/heads``.
        timeout: the bound of one catch-up, in seconds.
        statuses: the HTTP status a raised exception maps to (``None`` if unmapped).
        client: HTTP client for the owners (a keep-alive one is made when omitted).
        """
        self.progress = progress
        self.processors = {p.name: p for p in processors}
        self.owners = dict(owners)
        self.timeout = timeout
        self.statuses = statuses
        self.client = client or httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=1.0))

    async def judge(
        self,
        command: Callable[..., T],
        *args: Any,
        refusals: tuple[type[BaseException], ...] = (),
    ) -> T:
        """Run ``command(*args)`` in a worker thread; on a refusal after reads of another
        context's projection, catch up with the owners and run it once more.

        ``refusals`` names the refusals a lagging copy can cause (e.g. "order not found"); when
        given, only those are caught up on, and others (e.g. "not the order's provider", which
        a copy that knows the order gets right) are answered at once.

        Raises:
            CatchingUp: the projections did not catch up within the bound.
        """
        reads = _Reads()
        token = _reads.set(reads)
        try:
            return await asyncio.to_thread(command, *args)
        except Exception as refusal:
            if not reads.subjects or self.statuses(refusal) not in REFUSALS:
                raise
            if refusals and not isinstance(refusal, refusals):
                raise
            if not await self.catch_up(reads.subjects):
                raise  # the owners know nothing of the subjects: the refusal stands
        finally:
            _reads.reset(token)
        return await asyncio.to_thread(command, *args)

    async def catch_up(self, reads: Mapping[Upstream, set[UUID]]) -> bool:
        """Wait until every projection read has applied its owner's log for its subjects.

        Returns whether the owners know any of the subjects: then the command is judged again,
        even if the projection is current by now (it may have caught up while the owner was
        asked, after the refusal was made).

        Raises:
            CatchingUp: the owner cannot be asked, or the wait passed the bound.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        known = False
        for upstream, subjects in reads.items():
            heads = await self._heads(upstream, subjects)
            processor = self.processors[upstream.consumer]
            for aggregate_id, head in heads.items():
                known = True
                name = upstream.tracking_name(aggregate_id)
                position = await asyncio.to_thread(processor.target.position, name)
                if position >= head:
                    continue
                left = deadline - loop.time()
                if left <= 0 or not await self.progress.wait(
                    functools.partial(processor.target.position, name), name, head, left
                ):
                    log.warning("%s not caught up with %s within the bound", name, head)
                    raise CatchingUp(
                        f"the {upstream.owner} events this depends on are still being "
                        "applied; retry shortly",
                        retry_after=1,
                    )
        return known

    async def _heads(self, upstream: Upstream, subjects: set[UUID]) -> dict[str, int]:
        url = self.owners.get(upstream.owner)
        if url is None:
            return {}
        try:
            answer = await self.client.get(
                url.rstrip("/") + HEADS_PATH,
                params=[("subject", str(s)) for s in sorted(subjects, key=str)],
            )
            answer.raise_for_status()
            heads: dict[str, int] = answer.json()["heads"]
        except (httpx.HTTPError, KeyError, ValueError) as error:
            # The owner is down: judge on the copy as it is (known limitation, decision 0009).
            log.warning("cannot ask %s how far its log goes: %r", upstream.owner, error)
            return {}
        return heads

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()
