"""Deadlines of tasks and orders as durable timers (decision 0005).

A follower of the task service's own events schedules, in the same transaction as its
position (so no timer is lost or doubled across restarts):

* ``task.expire`` at the deadline of every published task: it takes no new orders (the domain
  already refuses takes at or after the deadline), expires, and completes at once when no
  order is open (the ledger then releases the unused escrow);
* ``order.expire`` at the deadline of every order taken: if its work was not handed in,
  it expires and frees the slot; the task completes after its last open order ended.

Handlers are idempotent ``Tasks`` commands run with the injected clock's now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from ring_runtime.local_projection import OwnEventsFollower
from ring_runtime.projection import ProjectionStore
from ring_runtime.settings import Settings
from ring_runtime.timers import Clock, DurableTimers, Timer
from ring_task.application import Tasks
from ring_task.domain import Order, Task

#: Purpose of the timer expiring a task at its deadline.
TASK_EXPIRY = "task.expire"
#: Purpose of the timer expiring an unsubmitted order at its deadline.
ORDER_EXPIRY = "order.expire"

Connection = psycopg.Connection[dict[str, Any]]


@dataclass(frozen=True)
class TaskTimers:
    """The timer table, the follower scheduling it and the store the follower writes to
    (mounted with the service's read models by ``main``)."""

    timers: DurableTimers
    follower: OwnEventsFollower
    store: ProjectionStore


def task_timers(settings: Settings, tasks: Tasks, clock: Clock) -> TaskTimers:
    """Durable deadline timers of the task service, firing ``Tasks`` commands at ``clock``."""

    def expire_task(timer: Timer) -> None:
        tasks.expire_task_when_due(timer.aggregate_id, now=clock.now())

    def expire_order(timer: Timer) -> None:
        tasks.expire_order_when_due(timer.aggregate_id, now=clock.now())

    timers = DurableTimers(
        settings.database_url,
        settings.db_schema,
        clock,
        {TASK_EXPIRY: expire_task, ORDER_EXPIRY: expire_order},
    )
    store = ProjectionStore(settings.database_url, settings.db_schema, "task_timers")
    follower = OwnEventsFollower("task-timers", tasks, store, handlers(timers))
    return TaskTimers(timers, follower, store)


def handlers(timers: DurableTimers) -> dict[type[Any], Any]:
    """Own domain event → timer scheduled or cancelled."""

    def published(event: Task.Published, conn: Connection) -> None:
        timers.schedule(TASK_EXPIRY, event.originator_id, event.deadline, conn)

    def task_ended(event: Any, conn: Connection) -> None:
        timers.cancel(TASK_EXPIRY, event.originator_id, conn)

    def taken(event: Order.Applied, conn: Connection) -> None:
        # The order's deadline is its task's; the handler re-checks the order when it fires.
        timers.schedule(ORDER_EXPIRY, event.originator_id, event.deadline, conn)

    def order_ended(event: Any, conn: Connection) -> None:
        timers.cancel(ORDER_EXPIRY, event.originator_id, conn)

    return {
        Task.Published: published,
        Task.Cancelled: task_ended,
        Task.Completed: task_ended,
        Order.Applied: taken,
        Order.Settled: order_ended,
        Order.Refunded: order_ended,
        Order.Cancelled: order_ended,
        Order.Declined: order_ended,
        Order.Expired: order_ended,
    }
