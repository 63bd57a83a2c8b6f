"""Order steps caused by the dispute context that the order aggregate does not define itself.

``Order.dispute`` / ``settle`` / ``refund`` cover opening and resolving a dispute. A dispute
can also be *withdrawn* by its opener before resolution: the order then returns to the status
it had before the dispute (``submitted`` or ``rejected``), so the normal review or resubmission
continues and no money stays in limbo. The step is private, like the other dispute steps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ring_task.domain import IllegalTransition, Order, OrderStatus, OrderStep

#: Statuses a disputed order may return to when its dispute is withdrawn.
RETURNABLE = frozenset({OrderStatus.SUBMITTED, OrderStatus.REJECTED})


class DisputeWithdrawn(Order.Step):
    """The dispute about the order was withdrawn; the order is back at ``back_to``."""

    STATUS = OrderStatus.DISPUTED
    back_to: str

    @property
    def note(self) -> str:
        return "dispute withdrawn"

    def apply(self, aggregate: Any) -> None:
        status = OrderStatus(self.back_to)
        aggregate.status = status
        aggregate.history.append(OrderStep(status, self.at, self.note))


def status_before_dispute(order: Order) -> OrderStatus:
    """The status the order had when its (latest) dispute was opened."""
    for step, previous in zip(reversed(order.history), reversed(order.history[:-1]), strict=False):
        if step.status is OrderStatus.DISPUTED and previous.status in RETURNABLE:
            return previous.status
    return OrderStatus.SUBMITTED


def withdraw_dispute(order: Order, at: datetime) -> None:
    """Return a disputed order to where it was before the dispute."""
    if order.status is not OrderStatus.DISPUTED:
        raise IllegalTransition(f"the order is {order.status}, not disputed")
    order.trigger_event(
        DisputeWithdrawn,
        task_id=order.task_id,
        owner_id=order.owner_id,
        provider_id=order.provider_id,
        at=at,
        back_to=str(status_before_dispute(order)),
    )
