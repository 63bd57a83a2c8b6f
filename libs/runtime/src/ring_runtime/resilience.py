"""Surviving outages of PostgreSQL and the broker: what counts as one, backoff, task health.

Every long-running task of a service process (outbox relay, consumers, timer pollers, local
projections) follows the same rules (issue 17, decision 0010):

* a failure of a dependency (:func:`is_outage`) is waited out: the task retries with
  exponential :class:`Backoff` for as long as it lasts, and never gives up nor drops work;
* while its last attempt failed, the task's :class:`TaskHealth` says so, and ``GET /ready``
  answers 503;
* a task that *returns or raises* while the process is not stopping is a bug: the process
  exits so that its supervisor starts it afresh (see :mod:`ring_runtime.process`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError

#: Exceptions meaning "a dependency is unreachable or temporarily unable", not "this work is
#: wrong". psycopg's ``OperationalError`` covers lost connections, pool timeouts
#: (``psycopg_pool.PoolTimeout``), server shutdown, deadlocks and serialization failures;
#: eventsourcing wraps them in its own classes.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    StoreOperationalError,
    StoreInterfaceError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    ConnectionError,
)


#: The longest wait between two attempts while a dependency is down. It is also the most a
#: task can lag behind once the dependency is back (issue 17: requests served again ≤ 15 s
#: after PostgreSQL is back), so it stays short; an attempt against a dead server is cheap.
OUTAGE_RETRY_CAP = 2.0


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` (or an exception it was raised from) is a dependency outage."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, OUTAGE_ERRORS):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


@dataclass
class Backoff:
    """Exponential delays between retries: ``initial``, doubling, capped at ``maximum``."""

    initial: float = 0.2
    maximum: float = OUTAGE_RETRY_CAP
    _next: float = 0.0

    def next(self) -> float:
        """The delay before the next retry (grows on every call until :meth:`reset`)."""
        delay = self._next or self.initial
        self._next = min(delay * 2, self.maximum)
        return delay

    def reset(self) -> None:
        """Start again from ``initial`` (after a success)."""
        self._next = 0.0


@dataclass
class TaskHealth:
    """Whether a long-running task's last attempt worked; shown by ``GET /ready``."""

    last_error: str | None = None
    failing_since: float | None = None
    failures: int = 0

    @property
    def ok(self) -> bool:
        """True unless the last attempt failed."""
        return self.failing_since is None

    def failed(self, error: BaseException) -> None:
        """Record a failed attempt."""
        self.last_error = f"{type(error).__name__}: {error}"[:500]
        self.failures += 1
        if self.failing_since is None:
            self.failing_since = time.monotonic()

    def recovered(self) -> None:
        """Record a successful attempt (the last error stays visible)."""
        self.failing_since = None

    def describe(self) -> dict[str, object]:
        """Readiness view: ok, failing for how long, last error, failures so far."""
        failing = (
            None if self.failing_since is None else round(time.monotonic() - self.failing_since, 1)
        )
        return {
            "ok": self.ok,
            "failing_for_s": failing,
            "failures": self.failures,
            "last_error": self.last_error,
        }
