"""Cancelling a task (decision 0007): which orders allow it and what happens to them.

Party A may cancel a task while no order's work is handed in:

* orders ``applied``, ``accepted`` or ``in_progress`` are cancelled with the task and their
  slots released;
* an order ``submitted``, ``approved`` (payment under way), ``rejected`` (the provider may
  still resubmit or dispute) or ``disputed`` blocks the cancellation with 409
  ``submitted_work_pending``: the owner reviews the work (or the dispute ends) first;
* the ledger then refunds exactly the unused escrow: every slot not settled or resolved,
  commission and fee (``task.cancelled`` → ``release_unused``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ring_task.domain import Order, OrderStatus, Task, TaskServiceError

#: Order statuses that block a cancellation: the work was handed in and is not settled.
BLOCKING = frozenset(
    {OrderStatus.SUBMITTED, OrderStatus.APPROVED, OrderStatus.REJECTED, OrderStatus.DISPUTED}
)


class SubmittedWorkPending(TaskServiceError):
    """Handed-in work must be reviewed (or its dispute end) before the task is cancelled."""

    code: ClassVar[str] = "submitted_work_pending"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.details = details


def check_cancellable(task: Task, orders: Sequence[Order]) -> None:
    """Refuse while any open order of ``task`` has handed-in work pending."""
    pending = [order for order in orders if order.status in BLOCKING]
    if pending:
        raise SubmittedWorkPending(
            f"{len(pending)} order(s) of task {task.id} have handed-in work to review first",
            details={"orders": [{"id": str(o.id), "status": str(o.status)} for o in pending]},
        )
