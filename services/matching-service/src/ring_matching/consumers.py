"""Every subscription of the matching service, all of them read models.

* ``ring.task.events`` → the task board (:mod:`ring_matching.projections.board`) and the
  providers' performance records (:mod:`ring_matching.projections.performance`), which
  ``ring.dispute.events`` feed too (disputes lost);
* ``ring.matching.events`` (its own public feed) → the provider directory
  (:mod:`ring_matching.projections.directory`);
* its own stored events, followed locally (``OwnEventsFollower``, wired by ``main``) → the
  verification queue (:mod:`ring_matching.projections.verification`).
"""

from __future__ import annotations

from ring_matching.projections.board import BoardProjection
from ring_matching.projections.directory import ProviderDirectoryProjection
from ring_matching.projections.performance import PerformanceProjection
from ring_runtime.consumer import ExactlyOnceProcessor


def processors(
    board: BoardProjection,
    directory: ProviderDirectoryProjection,
    performance: PerformanceProjection,
) -> list[ExactlyOnceProcessor]:
    """Every exactly-once consumer the matching service runs."""
    return [board.processor(), directory.processor(), *performance.processors()]
