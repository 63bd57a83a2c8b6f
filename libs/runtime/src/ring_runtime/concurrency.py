"""Retry on conflict: the one way a command survives losing an optimistic-concurrency race.

Every service application saves through eventsourcing's optimistic concurrency: a save whose
aggregate version another writer took first fails with ``IntegrityError``. The command then
re-reads the aggregate and decides again, so two concurrent commands can never both win (no
oversold slot, no overdrawn account). This module is that loop, written once for every
service, with one attempt policy and one error a client sees when the race is lost too often.

The policy: at most :data:`MAX_ATTEMPTS` runs; before each re-run a random pause of up to
``BACKOFF_SECONDS x attempt`` spreads the contenders apart (without it, the writers that just
collided collide again). Before this module each service had its own copy, with 10, 20 or 25
runs and two error names; 25 (the ledger's, whose platform accounts are written by every
settlement) is kept for all. The pauses add up to 0.6 s at the very worst.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from eventsourcing.persistence import IntegrityError

T = TypeVar("T")

#: How many times a command runs before the service gives up with :class:`ConcurrentUpdate`.
MAX_ATTEMPTS = 25

#: Upper bound of the random pause before the n-th re-run is ``BACKOFF_SECONDS x n`` seconds.
BACKOFF_SECONDS = 0.002


class ConcurrentUpdate(Exception):
    """A command kept losing races with concurrent writers; the client may retry (HTTP 409)."""

    code = "concurrent_update"


def retrying(command: Callable[[], T]) -> T:
    """Run ``command`` (load → decide → save) again from fresh state while its save conflicts.

    Args:
        command: reads what it needs and saves; it must be safe to run again after its save
            failed (nothing it did before the save is kept).

    Raises:
        ConcurrentUpdate: every run lost its race.
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return command()
        except IntegrityError:
            if attempt < MAX_ATTEMPTS:
                time.sleep(random.uniform(0, BACKOFF_SECONDS * attempt))
    raise ConcurrentUpdate(f"gave up after {MAX_ATTEMPTS} concurrent updates; try again")
