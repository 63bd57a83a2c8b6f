"""Wiring of the dispute service: ``create_app(settings)`` and the :data:`SERVICE` entry point.

Besides the API and the relay of ``ring.dispute.events``, the process runs the order-directory
consumer (``ring.task.events``), the follower of its own events (admin queue, escalation
timers) and the durable timer poller escalating cases whose response deadline passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from litestar import Litestar
from litestar.status_codes import (
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from ring_dispute import domain
from ring_dispute.api import AdminDisputeController, DisputeController, OrderDisputeController
from ring_dispute.application import Disputes
from ring_dispute.config import DisputeConfig
from ring_dispute.consumers import processors
from ring_dispute.files import EmptyFile, EvidenceFileNotFound, EvidenceFiles, FileTooLarge
from ring_dispute.files_api import AdminEvidenceFileController, EvidenceFileController
from ring_dispute.integration import DOMAIN_TO_PUBLIC, TOPIC
from ring_dispute.projections import order_directory
from ring_dispute.queue import ESCALATE, DisputeQueue
from ring_runtime.blobs import BlobStore, blob_store_from_environment
from ring_runtime.local_projection import OwnEventsFollower
from ring_runtime.order_directory import OrderDirectoryProjection
from ring_runtime.process import create_service_app
from ring_runtime.projection import ProjectionStore
from ring_runtime.rebuild import scheduling_read_model, topic_read_model
from ring_runtime.relay import EventTranslator
from ring_runtime.service import ServiceDefinition
from ring_runtime.settings import Settings
from ring_runtime.store import create_application, ensure_schema
from ring_runtime.timers import Clock, DurableTimers, SystemClock, Timer

TRANSLATOR = EventTranslator(topic=TOPIC, mapping=DOMAIN_TO_PUBLIC)

#: Each client-caused error, mapped once to its HTTP status.
ERROR_STATUSES: dict[type[Exception], int] = {
    domain.DisputeNotFound: HTTP_404_NOT_FOUND,
    domain.OrderNotFound: HTTP_404_NOT_FOUND,
    domain.NotOrderParty: HTTP_404_NOT_FOUND,
    domain.NotRespondent: HTTP_403_FORBIDDEN,
    domain.NotOpener: HTTP_403_FORBIDDEN,
    domain.InvalidCategory: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.InvalidOutcome: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.InvalidEvidence: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.ReasonRequired: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.IllegalTransition: HTTP_409_CONFLICT,
    domain.DisputeAlreadyOpen: HTTP_409_CONFLICT,
    domain.OrderNotDisputable: HTTP_409_CONFLICT,
    FileTooLarge: HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    EmptyFile: HTTP_422_UNPROCESSABLE_ENTITY,
    EvidenceFileNotFound: HTTP_404_NOT_FOUND,
}


@dataclass(frozen=True)
class DisputeParts:
    """The running parts of a dispute app, for operators' tools and tests."""

    disputes: Disputes
    orders: OrderDirectoryProjection
    queue: DisputeQueue
    timers: DurableTimers
    follower: OwnEventsFollower


def create_app(
    settings: Settings,
    *,
    config: DisputeConfig | None = None,
    clock: Clock | None = None,
    blobs: BlobStore | None = None,
) -> Litestar:
    """The dispute service process.

    Args:
        settings: process settings.
        config: SLA windows and timer polling (default: from the environment).
        clock: source of "now" for every step, deadline and the overdue flag (default: wall).
        blobs: where evidence files go (default: the store ``RING_BLOB_STORE`` names).
    """
    config = config or DisputeConfig.from_environ()
    clock = clock or SystemClock()
    ensure_schema(settings.database_url, settings.db_schema)
    store = ProjectionStore(settings.database_url, settings.db_schema, "dispute_views")
    orders = order_directory(store)
    disputes = Disputes(settings.eventsourcing_env(), orders=orders, config=config, clock=clock)

    def escalate(timer: Timer) -> None:
        disputes.escalate_at_deadline(timer.aggregate_id)

    timers = DurableTimers(settings.database_url, settings.db_schema, clock, {ESCALATE: escalate})
    queue = DisputeQueue(store, timers, clock)
    follower = OwnEventsFollower("dispute-local", disputes, store, queue.handlers())
    timers.open()
    disputes.catch_up = follower.catch_up
    app = create_service_app(
        settings=settings,
        title="Ring dispute-service (internal)",
        route_handlers=[
            OrderDisputeController,
            DisputeController,
            AdminDisputeController,
            EvidenceFileController,
            AdminEvidenceFileController,
        ],
        application=disputes,
        translator=TRANSLATOR,
        processors=processors(orders),
        read_models=[orders, queue, follower],
        domain_errors=ERROR_STATUSES,
        dependencies={
            "disputes": disputes,
            "queue": queue,
            "files": EvidenceFiles(blobs or blob_store_from_environment()),
        },
        on_shutdown=[timers.close, disputes.close],
        background=[follower, timers],
        background_interval=config.timer_poll_interval,
    )
    app.state.dispute_parts = DisputeParts(disputes, orders, queue, timers, follower)
    return app


def _queue(store: ProjectionStore, timers: DurableTimers) -> tuple[DisputeQueue, Any]:
    queue = DisputeQueue(store, timers, SystemClock())
    return queue, queue.handlers()


#: The dispute queue as ``ring projections rebuild dispute queue`` builds it.
queue_in = scheduling_read_model(
    "dispute_views", "dispute-local", ["dispute_queue"], Disputes, _queue
)


SERVICE = ServiceDefinition(
    name="dispute",
    create_app=create_app,
    application_name=Disputes.name,
    translator=TRANSLATOR,
    event_log=partial(create_application, Disputes),
    read_models={
        "queue": queue_in,
        "orders": topic_read_model(
            "dispute_views",
            ["dispute_orders"],
            order_directory,
            lambda orders: [orders.processor()],
        ),
    },
)
