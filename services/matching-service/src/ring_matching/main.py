"""Wiring of the matching service: ``create_app(settings)`` and the :data:`SERVICE` entry point."""

from __future__ import annotations

from functools import partial

from litestar import Litestar
from litestar.status_codes import (
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from ring_matching import domain
from ring_matching.api import (
    AdminProviderController,
    BlocklistController,
    BoardController,
    ProviderController,
)
from ring_matching.application import Providers
from ring_matching.config import MatchingConfig
from ring_matching.consumers import processors
from ring_matching.integration import DOMAIN_TO_PUBLIC, TOPIC
from ring_matching.projections.board import BoardProjection
from ring_matching.projections.directory import ProviderDirectoryProjection
from ring_matching.projections.performance import PerformanceProjection
from ring_matching.projections.verification import VerificationQueue
from ring_matching.recommendations import Matchmaker
from ring_runtime.process import create_service_app
from ring_runtime.projection import ProjectionStore
from ring_runtime.rebuild import followed_read_model, topic_read_model
from ring_runtime.relay import EventTranslator
from ring_runtime.service import ServiceDefinition
from ring_runtime.settings import Settings
from ring_runtime.store import create_application

TRANSLATOR = EventTranslator(topic=TOPIC, mapping=DOMAIN_TO_PUBLIC)

#: Each client-caused domain error, mapped once to its HTTP status.
ERROR_STATUSES: dict[type[Exception], int] = {
    domain.ProviderNotFound: HTTP_404_NOT_FOUND,
    domain.TaskNotOnBoard: HTTP_404_NOT_FOUND,
    domain.NotYourself: HTTP_403_FORBIDDEN,
    domain.InvalidQualification: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.ReasonRequired: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.CannotBlockSelf: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.AlreadyVerified: HTTP_409_CONFLICT,
    domain.IllegalTransition: HTTP_409_CONFLICT,
}


def create_app(settings: Settings, *, config: MatchingConfig | None = None) -> Litestar:
    """The matching service process: API, relay of ``ring.matching.events``, read models.

    Args:
        settings: process settings.
        config: how much of the board a recommendation scores (default: from the environment).
    """
    config = config or MatchingConfig.from_environ()
    providers = create_application(Providers, settings)
    store = ProjectionStore(settings.database_url, settings.db_schema, "matching")
    board = BoardProjection(store)
    directory = ProviderDirectoryProjection(store)
    performance = PerformanceProjection(store)
    verification_queue = VerificationQueue(store, providers)
    return create_service_app(
        settings=settings,
        title="Ring matching-service (internal)",
        route_handlers=[
            ProviderController,
            AdminProviderController,
            BlocklistController,
            BoardController,
        ],
        application=providers,
        translator=TRANSLATOR,
        processors=processors(board, directory, performance),
        read_models=[board, directory, performance, verification_queue],
        domain_errors=ERROR_STATUSES,
        subject_aggregates=lambda subject: (subject, domain.blocklist_id(subject)),
        dependencies={
            "providers": providers,
            "board": board,
            "performance": performance,
            "matchmaker": Matchmaker(providers, board, directory, performance, config.max_scan),
            "verification_queue": verification_queue,
        },
        on_shutdown=[providers.close],
        background=[verification_queue.follower],
    )


SERVICE = ServiceDefinition(
    name="matching",
    create_app=create_app,
    application_name=Providers.name,
    translator=TRANSLATOR,
    event_log=partial(create_application, Providers),
    read_models={
        "board": topic_read_model(
            "matching",
            ["board_tasks", "board_orders"],
            BoardProjection,
            lambda board: [board.processor()],
        ),
        "directory": topic_read_model(
            "matching",
            ["directory_providers", "directory_blocks"],
            ProviderDirectoryProjection,
            lambda directory: [directory.processor()],
        ),
        "performance": topic_read_model(
            "matching",
            ["perf_orders", "perf_tasks"],
            PerformanceProjection,
            PerformanceProjection.processors,
        ),
        "verification-queue": followed_read_model(
            "matching", ["verification_queue"], Providers, VerificationQueue
        ),
    },
)
