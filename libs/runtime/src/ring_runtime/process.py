"""Assembly of one service process: HTTP API, outbox relay and consumers in one lifespan.

Each service's ``main.create_app(settings)`` builds its application and read models, then calls
:func:`create_service_app` with its controllers, translator, consumers and read models (which
it mounts on one connection pool, creating their tables, and closes on shutdown). The returned litestar
app starts the Kafka broker, the relay and the subscribers on startup and stops them on shutdown,
and answers ``GET /health`` and ``GET /ready``.

Every long-running task waits out outages of PostgreSQL and the broker by itself (see
:mod:`ring_runtime.resilience`); ``GET /ready`` answers 503 while any of them is failing. A task
that ends while the process is not stopping is a bug that nothing inside the process can repair:
the process exits at once with :data:`TASK_DIED_EXIT_CODE` so that its supervisor (``ring run``,
Kubernetes) starts it afresh. All its state is durable, so this is an ordinary crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

import psycopg
from faststream.kafka import KafkaBroker
from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.types import ControllerRouterHandler

from ring_events.topics import dead_letter_topic
from ring_runtime.audit import audit_trail, correlated_events, inclusion_proof
from ring_runtime.consumer import ExactlyOnceProcessor, KafkaConsumerBinding
from ring_runtime.dead_letters import DeadLetterStore
from ring_runtime.freshness import HEADS_PATH, Freshness, Progress
from ring_runtime.http import (
    actor_id,
    caller,
    correlation_middleware,
    error_response,
    exception_handlers,
    screen_request,
    security_headers_middleware,
    status_of,
)
from ring_runtime.identity import service_verifier
from ring_runtime.integrity import event_chainer
from ring_runtime.kafka import broker_security, ensure_topics
from ring_runtime.local_projection import OwnEventsFollower
from ring_runtime.long_poll import Changes
from ring_runtime.metrics import GaugeSource, RuntimeGauges, observe, published
from ring_runtime.projection import MountedReadModels, ReadModel
from ring_runtime.recorder import RingProcessRecorder
from ring_runtime.relay import EventTranslator, OutboxRelay
from ring_runtime.resilience import TaskHealth
from ring_runtime.settings import Settings
from ring_runtime.store import RingApplication
from ring_runtime.telemetry import configure_telemetry, http_telemetry, metrics_endpoint
from ring_runtime.timers import DurableTimers

log = logging.getLogger("ring.process")

#: Exit status of a process whose long-running task ended unexpectedly.
TASK_DIED_EXIT_CODE = 70


class BackgroundLoop(Protocol):
    """A loop a service runs beside its API (a local projection, a timer poller…)."""

    health: TaskHealth

    async def run(self, interval: float) -> None:
        """Work every ``interval`` seconds until :meth:`stop`."""
        ...

    def stop(self) -> None:
        """Ask :meth:`run` to return after its current round."""
        ...


@dataclass
class ServiceRuntime:
    """The running parts of a service process, kept on ``app.state.runtime``."""

    settings: Settings
    broker: KafkaBroker
    relay: OutboxRelay | None
    bindings: list[KafkaConsumerBinding]
    dead_letters: DeadLetterStore
    on_shutdown: list[Callable[[], None]] = field(default_factory=list)
    background: list[BackgroundLoop] = field(default_factory=list)
    background_interval: float = 1.0
    subject_aggregates: Callable[[UUID], Sequence[UUID]] = lambda subject: (subject,)
    on_shutdown_async: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    _relay_task: asyncio.Task[None] | None = None
    _background_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stopping: bool = False

    async def start(self) -> None:
        """Start the broker connection, the subscribers and the relay."""
        await asyncio.to_thread(self.dead_letters.create_table)
        await ensure_topics(self.settings, self.topics())
        await self.broker.start()
        if self.relay is not None:
            self._relay_task = self._watched(self.relay.run(), "outbox-relay")
        self._background_tasks = [
            self._watched(loop.run(self.background_interval), type(loop).__name__)
            for loop in self.background
        ]

    def _watched(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=name)
        task.add_done_callback(self._task_ended)
        return task

    def _task_ended(self, task: asyncio.Task[None]) -> None:
        """Exit the process when a long-running task ends while nobody asked it to.

        A cancelled task was ended on purpose (the event loop is closing): not a failure.
        """
        if self._stopping or task.cancelled():
            return
        error = task.exception()
        log.critical(
            "%s ended unexpectedly (%r); exiting so that the supervisor restarts this process",
            task.get_name(),
            error if error is not None else "returned",
            exc_info=error,
        )
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(TASK_DIED_EXIT_CODE)

    def topics(self) -> list[str]:
        """Topics this process writes or reads, created up front with Ring's partition count.

        A subscriber must never auto-create its topic: the broker would pick the partition count.
        """
        topics = {self.relay.translator.topic} if self.relay is not None else set()
        for binding in self.bindings:
            topics.add(binding.processor.topic)
            topics.add(dead_letter_topic(binding.processor.topic))
        return sorted(topics)

    async def stop(self) -> None:
        """Stop consumers between records and the relay after its batch, then the broker."""
        self._stopping = True
        for binding in self.bindings:
            binding.stop()
        for loop in self.background:
            loop.stop()
        await asyncio.gather(*self._background_tasks, return_exceptions=True)
        if self.relay is not None and self._relay_task is not None:
            self.relay.stop()
            try:
                await asyncio.wait_for(self._relay_task, timeout=10)
            except TimeoutError:  # wait_for cancelled it; its position is already durable
                log.warning("the relay did not stop within 10 s; it was cancelled")
        await self.broker.stop()
        for aclose in self.on_shutdown_async:
            await aclose()
        for close in self.on_shutdown:
            await asyncio.to_thread(close)

    async def readiness(self) -> dict[str, Any]:
        """Reachability of store and broker, health of every task, relay and consumer counters.

        ``ok`` is false while the store or the broker is unreachable or any task is failing.
        """
        checks: dict[str, Any] = {}
        try:
            await asyncio.to_thread(_ping_database, self.settings.database_url)
            checks["store"] = "ok"
        except psycopg.Error as error:
            checks["store"] = f"unreachable: {error}"
        checks["broker"] = "ok" if await self.broker.ping(timeout=2.0) else "unreachable"
        healths: list[TaskHealth] = []
        if self.relay is not None:
            stats = self.relay.stats
            healths.append(stats.health)
            checks["relay"] = {
                "leader": stats.is_leader,
                "position": stats.position,
                "published": stats.published,
                "republishes": stats.republishes,
                "loss_checks": stats.loss_checks,
                **stats.health.describe(),
            }
        checks["consumers"] = {}
        for b in self.bindings:
            healths.append(b.health)
            checks["consumers"][b.processor.name] = {
                "group": b.group_id,
                "applied": b.processor.stats.applied,
                "duplicates": b.processor.stats.duplicates,
                "out_of_sequence": b.processor.stats.out_of_sequence,
                "dead_lettered": b.processor.stats.dead_lettered,
                **b.health.describe(),
            }
        checks["background"] = {}
        for loop in self.background:
            healths.append(loop.health)
            checks["background"][type(loop).__name__] = loop.health.describe()
        checks["ok"] = (
            checks["store"] == "ok" and checks["broker"] == "ok" and all(h.ok for h in healths)
        )
        return checks


def _ping_database(url: str) -> None:
    with psycopg.connect(url, connect_timeout=2) as conn:
        conn.execute("SELECT 1")


@get("/health", operation_id="Health", tags=["operations"], sync_to_thread=False)
def health() -> dict[str, str]:
    """Liveness: the process is up."""
    return {"status": "ok"}


@get("/ready", operation_id="Ready", tags=["operations"])
async def ready(state: State) -> Response[dict[str, Any]]:
    """Readiness: the event store and the broker are reachable and no task is failing."""
    runtime: ServiceRuntime = state.runtime
    checks = await runtime.readiness()
    ok = checks.pop("ok")
    return Response(
        {"status": "ready" if ok else "unavailable", **checks}, status_code=200 if ok else 503
    )


@get(HEADS_PATH, operation_id="Heads", tags=["operations"], include_in_schema=False)
async def heads(request: Request[Any, Any, Any], state: State) -> Response[Any]:
    """How far this service's published log goes for some subjects (``?subject=<uuid>``, many):
    asked by other services before they refuse a command on their copy (decision 0009)."""
    runtime: ServiceRuntime = state.runtime
    if runtime.relay is None:
        return Response({"heads": {}})
    try:
        subjects = [UUID(s) for s in request.query_params.getall("subject", [])[:20]]
    except ValueError:
        return error_response(400, "invalid_subject", "every subject must be a UUID")
    aggregates = sorted({a for s in subjects for a in runtime.subject_aggregates(s)}, key=str)

    def read() -> dict[str, int]:
        assert runtime.relay is not None
        with runtime.relay.log.connect() as conn:
            return runtime.relay.log.heads(conn, aggregates)

    return Response({"heads": await asyncio.to_thread(read) if aggregates else {}})


def create_service_app(
    *,
    settings: Settings,
    title: str,
    route_handlers: Sequence[ControllerRouterHandler],
    application: RingApplication | None,
    translator: EventTranslator | None,
    processors: Sequence[ExactlyOnceProcessor] = (),
    read_models: Sequence[ReadModel] = (),
    domain_errors: Mapping[type[Exception], int] | None = None,
    dependencies: Mapping[str, Any] | None = None,
    on_shutdown: Sequence[Callable[[], None]] = (),
    background: Sequence[BackgroundLoop] = (),
    background_interval: float = 1.0,
    subject_aggregates: Callable[[UUID], Sequence[UUID]] = lambda subject: (subject,),
    gauges: Sequence[GaugeSource] = (),
) -> Litestar:
    """Build the litestar app of a service process.

    Args:
        settings: the process settings.
        title: OpenAPI title.
        route_handlers: the service's controllers.
        application: the service's event-sourced application (relayed when ``translator``;
            its aggregates answer the audit trail); ``None`` for a service that keeps only
            read models and operational tables (the notification service).
        translator: domain → integration mapping; ``None`` for a service that publishes nothing.
        processors: exactly-once consumers to subscribe.
        read_models: the service's read models, mounted here on one connection pool shared by
            all of them; their tables are created and the followers of the service's own
            events among them have caught up before this returns; the pool closes after
            ``on_shutdown``.
        domain_errors: domain exception class → HTTP status.
        dependencies: values handed to controllers by name (e.g. ``{"tasks": tasks}``).
        on_shutdown: closers run after the broker stopped.
        background: loops started after the broker and stopped before it (local projections,
            timer pollers), each woken every ``background_interval`` seconds.
        background_interval: seconds between rounds of the background loops.
        subject_aggregates: the aggregates of this service a subject id names (default: the
            aggregate of that id), for ``/internal/heads``.
        gauges: the service's own gauges (:mod:`ring_runtime.metrics`), beside those of its
            relay, consumers, dead letters and timers.
    """
    configure_telemetry(settings.service, trace_sql=settings.trace_sql)
    mounted = MountedReadModels(settings.database_url, read_models)
    mounted.open()
    for model in read_models:
        if isinstance(model, OwnEventsFollower):
            model.catch_up()  # what was recorded while the process was down, before any command
    broker = KafkaBroker(
        settings.kafka_servers,
        client_id=f"ring-{settings.service}",
        security=broker_security(settings),
        enable_idempotence=settings.kafka_enable_idempotence,
        logger=logging.getLogger(f"ring.{settings.service}.kafka"),
        log_level=logging.DEBUG,
    )
    dead_letters = DeadLetterStore(settings.database_url, settings.db_schema)
    progress = Progress()
    changes = Changes()
    if application is not None:
        application.changes = changes
    bindings = [KafkaConsumerBinding(p, settings, dead_letters, progress) for p in processors]
    for binding in bindings:
        binding.subscribe(broker)
    relay = (
        OutboxRelay(application, translator, settings, source=settings.service)
        if translator is not None and application is not None
        else None
    )
    loops = list(background)
    if application is not None and isinstance(application.recorder, RingProcessRecorder):
        loops.append(event_chainer(settings, application.name, broker))  # tamper evidence
    runtime = ServiceRuntime(
        settings=settings,
        broker=broker,
        relay=relay,
        bindings=bindings,
        dead_letters=dead_letters,
        on_shutdown=[*on_shutdown, mounted.close],
        background=loops,
        background_interval=background_interval,
        subject_aggregates=subject_aggregates,
    )
    handlers = exception_handlers(domain_errors or {})
    freshness = Freshness(
        progress=progress,
        processors=processors,
        owners=settings.service_urls,
        timeout=settings.catch_up_timeout_ms / 1000,
        statuses=status_of(domain_errors or {}),
    )
    runtime.on_shutdown_async.append(freshness.aclose)
    runtime_gauges = RuntimeGauges(
        settings,
        relay,
        bindings,
        dead_letters,
        [loop for loop in background if isinstance(loop, DurableTimers)],
    )
    sources: list[GaugeSource] = [runtime_gauges, *gauges]
    forget = [observe(source) for source in sources]
    runtime.on_shutdown[:0] = [*forget, runtime_gauges.close]  # before the stores close

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        changes.bind(asyncio.get_running_loop())
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    provided = {name: _provide(value) for name, value in (dependencies or {}).items()}
    provided["actor"] = Provide(actor_id, sync_to_thread=False)
    provided["freshness"] = _provide(freshness)
    provided["changes"] = _provide(changes)
    audit = [audit_trail, correlated_events, inclusion_proof] if application is not None else []
    provided["caller"] = Provide(caller, sync_to_thread=False)
    return Litestar(
        route_handlers=[
            health,
            ready,
            heads,
            metrics_endpoint,
            published,
            *audit,
            *route_handlers,
        ],
        lifespan=[lifespan],
        state=State(
            {
                "runtime": runtime,
                "application": application,
                "identity": service_verifier(settings.gateway_verify_key, settings.data_dir),
            }
        ),
        exception_handlers=handlers,
        dependencies=provided,
        middleware=[http_telemetry, security_headers_middleware, correlation_middleware],
        before_request=screen_request,
        openapi_config=OpenAPIConfig(title=title, version="1.0.0", path="/schema"),
    )


def _provide(value: Any) -> Provide:
    def provider() -> Any:
        return value

    return Provide(provider, sync_to_thread=False)
