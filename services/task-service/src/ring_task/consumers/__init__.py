"""Every subscription of the task service: its read models of its own topic, then the
consumers of other contexts' integration events (→ ``Tasks`` commands).

Each upstream context has its own module with a ``processor(...)`` factory; :func:`processors`
lists them all for ``main.create_app``. The deadline timers follow the service's own events
(:mod:`ring_task.timers`) and are wired as background work, not as a subscription.
"""

from __future__ import annotations

from ring_runtime.consumer import ExactlyOnceProcessor
from ring_task.application import Tasks
from ring_task.consumers import disputes, ledger, matching, vouchers
from ring_task.order_queries import OrdersByParty
from ring_task.projections import TaskBoardProjection
from ring_task.providers import ProviderStandingProjection


def processors(
    tasks: Tasks,
    standings: ProviderStandingProjection,
    board: TaskBoardProjection,
    orders_by_party: OrdersByParty,
) -> list[ExactlyOnceProcessor]:
    """Every exactly-once consumer the task service runs."""
    return [
        board.processor(),
        orders_by_party.processor(),
        matching.processor(standings),
        vouchers.processor(tasks),
        ledger.processor(tasks),
        *disputes.processors(tasks),
    ]
