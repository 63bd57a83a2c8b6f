"""Subscribers of the task service: integration events of other contexts → ``Tasks`` commands.

Each upstream context has its own module with a ``processor(...)`` factory; :func:`processors`
lists them for ``main.create_app``.
"""

from __future__ import annotations

from ring_runtime.consumer import ExactlyOnceProcessor
from ring_task.application import Tasks
from ring_task.consumers import ledger, matching, vouchers
from ring_task.providers import ProviderStandingProjection


def processors(tasks: Tasks, standings: ProviderStandingProjection) -> list[ExactlyOnceProcessor]:
    """Every exactly-once consumer the task service runs besides its task board."""
    return [matching.processor(standings), vouchers.processor(tasks), ledger.processor(tasks)]
