"""Wiring of the task service: ``create_app(settings)`` and the :data:`SERVICE` entry point."""

from __future__ import annotations

from functools import partial

from litestar import Litestar
from litestar.status_codes import (
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from ring_runtime.process import create_service_app
from ring_runtime.projection import ProjectionStore
from ring_runtime.rebuild import topic_read_model
from ring_runtime.relay import EventTranslator
from ring_runtime.service import ServiceDefinition
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.timers import Clock, SystemClock
from ring_task import domain
from ring_task.analytics import AnalyticsController, AnalyticsQueries
from ring_task.api import OrderController, TaskController
from ring_task.application import Tasks
from ring_task.config import TaskConfig
from ring_task.consumers import matching, processors
from ring_task.domain.cancellation import SubmittedWorkPending
from ring_task.integration import DOMAIN_TO_PUBLIC, TOPIC
from ring_task.messages import OrderMessageController, OrderMessages
from ring_task.order_queries import OrderListController, OrdersByParty
from ring_task.projections import TaskBoardProjection
from ring_task.providers import ProviderStandingProjection
from ring_task.timers import task_timers

TRANSLATOR = EventTranslator(topic=TOPIC, mapping=DOMAIN_TO_PUBLIC)

#: Each client-caused domain error, mapped once to its HTTP status.
ERROR_STATUSES: dict[type[Exception], int] = {
    domain.TaskNotFound: HTTP_404_NOT_FOUND,
    domain.OrderNotFound: HTTP_404_NOT_FOUND,
    domain.NotTaskOwner: HTTP_403_FORBIDDEN,
    domain.NotOrderParty: HTTP_403_FORBIDDEN,
    domain.OwnTask: HTTP_403_FORBIDDEN,
    domain.InvalidTaskDetails: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.InvalidDeadline: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.InvalidSlots: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.InvalidCommission: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.UnsupportedCurrency: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.InvalidProgress: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.ReasonRequired: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.IllegalTransition: HTTP_409_CONFLICT,
    domain.TaskNotOpen: HTTP_409_CONFLICT,
    domain.DeadlinePassed: HTTP_409_CONFLICT,
    domain.DeadlineNotReached: HTTP_409_CONFLICT,
    domain.NoSlotsLeft: HTTP_409_CONFLICT,
    domain.AlreadyHoldsSlot: HTTP_409_CONFLICT,
    domain.SlotNotHeld: HTTP_409_CONFLICT,
    domain.OpenOrdersRemain: HTTP_409_CONFLICT,
    domain.OrderAlreadySettled: HTTP_409_CONFLICT,
    domain.ProviderNotVerified: HTTP_403_FORBIDDEN,
    domain.ProviderSuspended: HTTP_403_FORBIDDEN,
    domain.ProviderBlocked: HTTP_403_FORBIDDEN,
    SubmittedWorkPending: HTTP_409_CONFLICT,
}


def create_app(
    settings: Settings, *, clock: Clock | None = None, timer_poll_interval: float | None = None
) -> Litestar:
    """The task service process: API, relay of ``ring.task.events``, consumers, deadline timers.

    Args:
        settings: process settings.
        clock: source of "now" for deadline timers (default: wall clock).
        timer_poll_interval: seconds between timer rounds (default: RING_TIMER_POLL_INTERVAL_MS).
    """
    tasks = create_application(Tasks, settings)
    board = TaskBoardProjection(
        ProjectionStore(settings.database_url, settings.db_schema, "task_board")
    )
    standings = ProviderStandingProjection(
        ProjectionStore(settings.database_url, settings.db_schema, "providers")
    )
    tasks.use_provider_standings(standings)
    orders_by_party = OrdersByParty(
        ProjectionStore(settings.database_url, settings.db_schema, "orders_by_party")
    )
    deadlines = task_timers(settings, tasks, clock or SystemClock())
    deadlines.timers.open()
    if timer_poll_interval is None:
        timer_poll_interval = TaskConfig.from_environ().timer_poll_interval
    app = create_service_app(
        settings=settings,
        title="Ring task-service (internal)",
        route_handlers=[
            TaskController,
            OrderController,
            OrderListController,
            OrderMessageController,
            AnalyticsController,
        ],
        application=tasks,
        translator=TRANSLATOR,
        processors=processors(tasks, standings, board, orders_by_party),
        read_models=[board, standings, orders_by_party, deadlines.follower],
        domain_errors=ERROR_STATUSES,
        dependencies={
            "tasks": tasks,
            "board": board,
            "orders_by_party": orders_by_party,
            "messages": OrderMessages(tasks),
            "analytics": AnalyticsQueries(board, orders_by_party),
        },
        on_shutdown=[deadlines.timers.close, tasks.close],
        background=[deadlines.follower, deadlines.timers],
        background_interval=timer_poll_interval,
    )
    app.state.task_timers = deadlines
    return app


SERVICE = ServiceDefinition(
    name="task",
    create_app=create_app,
    application_name=Tasks.name,
    translator=TRANSLATOR,
    event_log=partial(create_application, Tasks),
    read_models={
        "board": topic_read_model(
            "task_board",
            ["task_board", "task_board_slots"],
            TaskBoardProjection,
            lambda board: [board.processor()],
        ),
        "orders-by-party": topic_read_model(
            "orders_by_party",
            ["orders_by_party"],
            OrdersByParty,
            lambda orders: [orders.processor()],
        ),
        "provider-standing": topic_read_model(
            "providers",
            ["provider_standing", "provider_blocks"],
            ProviderStandingProjection,
            lambda standings: [matching.processor(standings)],
        ),
    },
)
