"""Every subscription of the ledger: integration events of other contexts → ``Ledger`` commands.

Each upstream context has its own module with a ``processor(...)`` factory; :func:`processors`
lists them for ``main.create_app``. The ledger's own events are followed locally
(``OwnEventsFollower``, wired by ``main`` as background work) by the books read model
(:mod:`ring_ledger.projections`) and the payout timers (:mod:`ring_ledger.payout_timers`).
"""

from __future__ import annotations

from ring_ledger.application import Ledger
from ring_ledger.consumers import disputes, tasks
from ring_runtime.consumer import ExactlyOnceProcessor


def processors(ledger: Ledger) -> list[ExactlyOnceProcessor]:
    """Every exactly-once consumer the ledger service runs."""
    return [tasks.processor(ledger), disputes.processor(ledger)]
