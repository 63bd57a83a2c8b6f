"""Order directory of the dispute service, fed from ``ring.task.events``.

The dispute service decides who may complain about an order without calling the task service:
per order it keeps the task, both parties, the latest public status and the order's history
(type and time of each public event), shown to the arbitrator with the case. The directory is
the runtime's shared one (:mod:`ring_runtime.order_directory`) in the ``dispute_orders`` table.
"""

from __future__ import annotations

from ring_runtime.order_directory import OrderDirectoryProjection, OrderStepView, OrderView
from ring_runtime.projection import ProjectionStore

__all__ = ["DISPUTABLE", "OrderStepView", "OrderView", "order_directory"]

#: Public order statuses about which a party may open a dispute: the work was handed in and
#: is awaiting review, or was rejected.
DISPUTABLE = frozenset({"submitted", "rejected"})


def order_directory(store: ProjectionStore) -> OrderDirectoryProjection:
    """The dispute service's order directory, with each order's history."""
    return OrderDirectoryProjection(
        store, table="dispute_orders", consumer="dispute-orders", with_history=True
    )
