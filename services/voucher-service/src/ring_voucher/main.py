"""Wiring of the voucher service: ``create_app(settings)`` and the :data:`SERVICE` entry point.

Besides the API, the relay of ``ring.voucher.events`` and the order-directory consumer, the
process runs two loops: the follower of its own events (fingerprint index, review timers) and
the durable timer poller that approves vouchers whose review window ran out.
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
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from ring_runtime.blobs import BlobStore
from ring_runtime.local_projection import OwnEventsFollower
from ring_runtime.process import create_service_app
from ring_runtime.projection import ProjectionStore
from ring_runtime.rebuild import scheduling_read_model, topic_read_model
from ring_runtime.relay import EventTranslator
from ring_runtime.service import ServiceDefinition
from ring_runtime.settings import Settings
from ring_runtime.store import RingApplication, create_application, ensure_schema
from ring_runtime.timers import Clock, DurableTimers, SystemClock, Timer
from ring_voucher import domain, files
from ring_voucher.api import AdminVoucherController, VoucherController, order_voucher_controller
from ring_voucher.application import Vouchers
from ring_voucher.blobs import blob_store_from_config
from ring_voucher.config import VoucherConfig
from ring_voucher.consumers import AUTO_APPROVE, local_handlers, processors
from ring_voucher.fingerprints import FingerprintIndex
from ring_voucher.integration import DOMAIN_TO_PUBLIC, TOPIC, partition_key
from ring_voucher.projections import OrderDisputesProjection, order_directory

TRANSLATOR = EventTranslator(topic=TOPIC, mapping=DOMAIN_TO_PUBLIC, partition_key=partition_key)

#: Each client-caused error, mapped once to its HTTP status.
ERROR_STATUSES: dict[type[Exception], int] = {
    domain.VoucherNotFound: HTTP_404_NOT_FOUND,
    domain.OrderNotFound: HTTP_404_NOT_FOUND,
    domain.VoucherFileNotFound: HTTP_404_NOT_FOUND,
    domain.NotOrderProvider: HTTP_403_FORBIDDEN,
    domain.NotTaskOwner: HTTP_403_FORBIDDEN,
    domain.NotOrderParty: HTTP_403_FORBIDDEN,
    domain.OrderNotOpen: HTTP_409_CONFLICT,
    domain.NoFiles: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.TooManyFiles: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.NoteTooLong: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.ReasonRequired: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.AlreadyDecided: HTTP_409_CONFLICT,
    domain.VoucherUnderReview: HTTP_409_CONFLICT,
    domain.OrderAlreadyApproved: HTTP_409_CONFLICT,
    files.FileTooLarge: HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    files.UnsupportedFileType: HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    domain.OrderUnderDispute: HTTP_409_CONFLICT,
}


@dataclass(frozen=True)
class VoucherParts:
    """The running parts of a voucher app, for operators' tools and tests."""

    vouchers: Vouchers
    timers: DurableTimers
    follower: OwnEventsFollower
    store: ProjectionStore


def create_app(
    settings: Settings,
    *,
    config: VoucherConfig | None = None,
    clock: Clock | None = None,
    blobs: BlobStore | None = None,
) -> Litestar:
    """The voucher service process.

    Args:
        settings: process settings.
        config: voucher limits, review window, blob store (default: from the environment).
        clock: source of "now" for submissions, reviews and timers (default: wall clock).
        blobs: blob store (default: the one ``config`` names).
    """
    config = config or VoucherConfig.from_environ()
    clock = clock or SystemClock()
    ensure_schema(settings.database_url, settings.db_schema)
    store = ProjectionStore(settings.database_url, settings.db_schema, "voucher_views")
    orders = order_directory(store)
    disputes = OrderDisputesProjection(store)
    fingerprints = FingerprintIndex(store)
    vouchers = Vouchers(
        env=settings.eventsourcing_env(),
        orders=orders,
        fingerprints=fingerprints,
        blobs=blobs or blob_store_from_config(config),
        config=config,
        clock=clock,
        disputes=disputes,
    )

    def end_review(timer: Timer) -> None:
        vouchers.end_review(timer.aggregate_id)

    timers = DurableTimers(
        settings.database_url,
        settings.db_schema,
        clock,
        {AUTO_APPROVE: end_review},
    )
    follower = OwnEventsFollower(
        "voucher-local",
        vouchers,
        store,
        local_handlers(fingerprints, timers),
    )
    timers.open()
    vouchers.catch_up = follower.catch_up
    app = create_service_app(
        settings=settings,
        title="Ring voucher-service (internal)",
        route_handlers=[
            order_voucher_controller(config.max_request_bytes),
            VoucherController,
            AdminVoucherController,
        ],
        application=vouchers,
        translator=TRANSLATOR,
        processors=processors(orders, disputes),
        read_models=[orders, fingerprints, follower, disputes],
        domain_errors=ERROR_STATUSES,
        dependencies={"vouchers": vouchers},
        on_shutdown=[timers.close, vouchers.close],
        background=[follower, timers],
        background_interval=config.timer_poll_interval,
    )
    app.state.voucher_parts = VoucherParts(vouchers, timers, follower, store)
    return app


class VoucherLog(RingApplication):
    """The voucher store opened only to read its log, without the collaborators commands need:
    how a rebuild of a read model fed from ``ring.voucher.events`` reads it."""

    name = Vouchers.name


def _fingerprints(
    store: ProjectionStore, timers: DurableTimers
) -> tuple[FingerprintIndex, dict[type[Any], Any]]:
    fingerprints = FingerprintIndex(store)
    return fingerprints, local_handlers(fingerprints, timers)


SERVICE = ServiceDefinition(
    name="voucher",
    create_app=create_app,
    application_name=Vouchers.name,
    translator=TRANSLATOR,
    event_log=partial(create_application, VoucherLog),
    read_models={
        "fingerprints": scheduling_read_model(
            "voucher_views",
            "voucher-local",
            ["voucher_file_hashes", "voucher_image_hashes"],
            VoucherLog,
            _fingerprints,
        ),
        "orders": topic_read_model(
            "voucher_views",
            ["order_directory"],
            order_directory,
            lambda orders: [orders.processor()],
        ),
        "order-disputes": topic_read_model(
            "voucher_views",
            ["order_disputes"],
            OrderDisputesProjection,
            lambda disputes: [disputes.processor()],
        ),
    },
)
