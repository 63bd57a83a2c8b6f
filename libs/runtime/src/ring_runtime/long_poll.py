"""Long-poll: a read that answers once the resource reached a wanted state, or at a bound.

``GET …?wait_for=status:settled&timeout=10`` answers at once when the resource already is in
that state, otherwise as soon as a save of the service changes it so, and at the latest after
``timeout`` seconds with the resource as it is then (200 either way: the client looks at the
answer). The wait wakes on the service's own saves (:class:`Changes`, fed by
:meth:`RingApplication._notify`), with a slow re-read as a backstop for saves made by another
replica, so a waiting client costs almost nothing while it waits (decision 0009).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from uuid import UUID

from litestar.params import QueryParameter

T = TypeVar("T")

#: The longest a long-poll may be asked to wait (below the gateway's upstream timeout).
MAX_WAIT_SECONDS = 10.0
#: A waiting read re-reads at least this often, for changes saved by another replica.
BACKSTOP_SECONDS = 0.5

#: The ``wait_for`` query parameter of a long-poll read.
WaitFor = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^[a-z_]{1,40}:[A-Za-z0-9_.\-]{1,64}$",
        description=(
            "Long-poll: answer once `FIELD` of the resource equals `VALUE` (`FIELD:VALUE`, e.g. "
            "`status:settled`), or after `timeout` seconds with the resource as it is then. "
            "Answers at once when it already does."
        ),
    ),
]
#: The ``timeout`` query parameter of a long-poll read, in seconds.
WaitTimeout = Annotated[
    float,
    QueryParameter(
        name="timeout",
        gt=0,
        le=MAX_WAIT_SECONDS,
        description="Longest wait of a `wait_for` read, in seconds.",
    ),
]


class InvalidWaitFor(Exception):
    """``wait_for`` names a field the resource does not have (400)."""

    code = "invalid_wait_for"


class Changes:
    """Wakes long-polls when the process's application saves events of an aggregate."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[UUID | None, set[asyncio.Future[None]]] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver wake-ups on ``loop`` (the loop serving the HTTP API)."""
        self._loop = loop

    def saved(self, aggregate_ids: Iterable[UUID]) -> None:
        """Events of ``aggregate_ids`` were saved (from any thread)."""
        if self._loop is not None and self._waiters:
            self._loop.call_soon_threadsafe(self._wake, list(aggregate_ids))

    def _wake(self, aggregate_ids: list[UUID]) -> None:
        for key in (*aggregate_ids, None):
            for future in self._waiters.get(key, ()):
                if not future.done():
                    future.set_result(None)

    async def changed(self, aggregate_id: UUID | None, within: float) -> None:
        """Until ``aggregate_id`` (any aggregate when ``None``) is saved, or ``within`` passed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(aggregate_id, set())
        waiters.add(future)
        try:
            await asyncio.wait_for(future, within)
        except TimeoutError:
            return
        finally:
            waiters.discard(future)
            if not waiters:
                self._waiters.pop(aggregate_id, None)


@dataclass(frozen=True)
class Condition:
    """``FIELD:VALUE`` of a ``wait_for`` parameter."""

    field: str
    value: str

    @classmethod
    def parse(cls, raw: str) -> Condition:
        """The condition ``raw`` names (its shape is checked by :data:`WaitFor`)."""
        field, _, value = raw.partition(":")
        return cls(field, value)

    def met(self, resource: Any) -> bool:
        """Whether ``resource`` (a msgspec Struct) satisfies the condition.

        Raises:
            InvalidWaitFor: the resource has no such field.
        """
        if self.field not in getattr(resource, "__struct_fields__", ()):
            raise InvalidWaitFor(f"cannot wait for {self.field!r}: the resource has no such field")
        found = getattr(resource, self.field)
        return str(getattr(found, "value", found)) == self.value


async def long_poll(
    read: Callable[[], T],
    wait_for: str | None,
    within: float,
    changes: Changes,
    aggregate_id: UUID | None,
) -> T:
    """``read()`` once ``wait_for`` holds or ``within`` seconds passed (at once without one).

    Args:
        read: reads the resource (runs in a worker thread).
        wait_for: ``FIELD:VALUE``, or ``None`` for a plain read.
        within: the longest wait, in seconds.
        changes: the process's save notifications.
        aggregate_id: the aggregate whose saves may change the resource (``None``: any).
    """
    resource = await asyncio.to_thread(read)
    if wait_for is None:
        return resource
    condition = Condition.parse(wait_for)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition.met(resource):
        left = deadline - loop.time()
        if left <= 0:
            break
        await changes.changed(aggregate_id, min(left, BACKSTOP_SECONDS))
        resource = await asyncio.to_thread(read)
    return resource
