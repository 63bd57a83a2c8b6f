"""The unit of work of one consumed message: its effect and its tracking position, together.

An exactly-once consumer (:mod:`ring_runtime.consumer`) opens one :class:`UnitOfWork` per message
on its target and hands it to the handler, which passes it on explicitly: to an application
command (``unit=``, down to :meth:`RingApplication.save <ring_runtime.store.RingApplication.save>`)
or, for a read model, to the writes it makes through :attr:`UnitOfWork.connection`.

The message's tracking position commits with the first save through the unit. A second save
through it raises :class:`UnitAlreadySaved` rather than committing an effect the position does
not cover (a redelivery would repeat it). A save that fails (a concurrency conflict about to be
retried) leaves the unit unused. The reasoning is in ``docs/decisions/0022-one-service-shape.md``
(session 10).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing.persistence import Tracking


class UnitAlreadySaved(RuntimeError):
    """A second save through one message's unit of work: its position covers only the first."""


class UnitOfWork:
    """One consumed message's work: the tracking to record with its effect, and, for a read
    model, the transaction that effect is written in."""

    def __init__(
        self, tracking: Tracking, connection: psycopg.Connection[dict[str, Any]] | None = None
    ) -> None:
        self.tracking = tracking
        self._connection = connection
        self._saved = False

    @property
    def saved(self) -> bool:
        """Whether a save through this unit recorded its tracking."""
        return self._saved

    @contextmanager
    def saving(self) -> Iterator[Tracking]:
        """Yield the tracking for the one save that records it; the unit counts as used only
        when the block ends without an exception.

        Raises:
            UnitAlreadySaved: a save through this unit already recorded its tracking.
        """
        if self._saved:
            raise UnitAlreadySaved(
                f"{self.tracking.application_name}@{self.tracking.notification_id} was already "
                "saved: a message's handler saves once, so its effect commits with its position"
            )
        yield self.tracking
        self._saved = True

    @property
    def connection(self) -> psycopg.Connection[dict[str, Any]]:
        """The transaction a read model writes this message's effect in (with its tracking).

        Raises:
            RuntimeError: the unit is an application's; its effect is saved, not written.
        """
        if self._connection is None:
            raise RuntimeError(
                "this unit of work belongs to an application: save through it, do not write SQL"
            )
        return self._connection
