"""Every subscription of the dispute service.

* ``ring.task.events`` → the order directory (:mod:`ring_dispute.projections`): who may
  complain about which order, and the order's history shown to the arbitrator;
* its own events, followed locally (``OwnEventsFollower`` "dispute-local", wired by ``main``)
  → the admin queue and the response-deadline timers (:mod:`ring_dispute.queue`).
"""

from __future__ import annotations

from ring_runtime.consumer import ExactlyOnceProcessor
from ring_runtime.order_directory import OrderDirectoryProjection


def processors(orders: OrderDirectoryProjection) -> list[ExactlyOnceProcessor]:
    """Every exactly-once consumer of other contexts' events the dispute service runs."""
    return [orders.processor()]
