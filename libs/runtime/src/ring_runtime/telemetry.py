"""OpenTelemetry for every Ring process: traces, metrics and the HTTP instrumentation.

:func:`configure_telemetry` installs, once per process, a tracer provider and a meter provider
named after the service. Spans and metrics are exported over OTLP/HTTP when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set; metrics are always readable as Prometheus text on
``GET /metrics`` (:func:`metrics_endpoint`), and spans are always created, so trace context
flows through HTTP and Kafka headers even when nothing is exported.

HTTP server spans and the request duration histogram come from the ASGI instrumentation
(:func:`http_telemetry`), named by route template (``POST /tasks/{task_id:uuid}/publish``),
never by the raw path; outgoing ``httpx`` calls get client spans and carry ``traceparent``.
With ``RING_TRACE_SQL`` every SQL statement gets a span too (the psycopg instrumentation).
"""

from __future__ import annotations

import asyncio
import functools
import os
from dataclasses import dataclass
from typing import Any

from litestar import Response, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send
from opentelemetry import metrics, trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.semconv.attributes.http_attributes import HTTP_ROUTE
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

#: Path of the Prometheus scrape endpoint of every process.
METRICS_PATH = "/metrics"
#: Requests that get neither a span nor a duration: scrapes and liveness probes.
UNTRACED_PATHS = frozenset({METRICS_PATH, "/health"})


@dataclass(frozen=True)
class Telemetry:
    """The providers of this process and the registry ``GET /metrics`` renders."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    registry: CollectorRegistry


_installed: Telemetry | None = None


def configure_telemetry(service: str, *, trace_sql: bool = False) -> Telemetry:
    """Install tracing and metrics for the process of ``service`` (the first call wins).

    One process runs one service; tests that build several apps in one process share the
    providers of the first, as OpenTelemetry's global providers can be set only once.
    """
    global _installed
    if _installed is not None:
        return _installed
    # Stable HTTP semantic conventions: the duration histogram carries ``http.route``.
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
    name = os.environ.get("OTEL_SERVICE_NAME") or f"ring-{service}"
    resource = Resource.create({"service.name": name})
    tracer_provider = TracerProvider(resource=resource)
    registry = CollectorRegistry(auto_describe=True)
    readers: list[MetricReader] = [PrometheusMetricReader(registry=registry)]
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        if os.environ.get("OTEL_METRICS_EXPORTER", "otlp") == "otlp":  # `none`: scraped only
            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().instrument()
    if trace_sql:
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

        PsycopgInstrumentor().instrument(enable_commenter=False)
    _installed = Telemetry(tracer_provider, meter_provider, registry)
    return _installed


def route_span_details(scope: Scope) -> tuple[str, dict[str, Any]]:
    """Span name and ``http.route`` of a request: its route template, never ids.

    Litestar routes before it runs app middleware, so ``path_template`` is known here.
    """
    method = str(scope.get("method", "")).strip() or "WS"
    template = scope.get("path_template")
    if not template:
        return method, {}
    return f"{method} {template}", {HTTP_ROUTE: template}


def http_telemetry(app: ASGIApp) -> ASGIApp:
    """Trace and measure every routed HTTP request with the ASGI instrumentation.

    A plain middleware rather than litestar's OpenTelemetry plugin: litestar runs the plugin
    around the whole app, before routing, where only the raw path is known; here the route
    template is. One instrumentation instance serves every route (each route's middleware
    stack is built separately), so its instruments are created once. Requests that match no
    route (404s) are neither traced nor measured.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("path") in UNTRACED_PATHS:
            await app(scope, receive, send)
            return
        scope[_NEXT] = app  # type: ignore[literal-required]
        await _instrumentation()(scope, receive, send)  # type: ignore[arg-type]

    return middleware


#: Where :func:`http_telemetry` leaves the rest of the stack for the shared instrumentation.
_NEXT = "ring.next_app"


async def _next_app(scope: Scope, receive: Receive, send: Send) -> None:
    await scope[_NEXT](scope, receive, send)  # type: ignore[literal-required]


@functools.cache
def _instrumentation() -> OpenTelemetryMiddleware:
    return OpenTelemetryMiddleware(
        _next_app,
        default_span_details=route_span_details,
        exclude_spans=["receive", "send"],
    )


@get(METRICS_PATH, operation_id="Metrics", tags=["operations"], include_in_schema=False)
async def metrics_endpoint() -> Response[bytes]:
    """Prometheus text of this process's metrics (gauges are sampled now, off the loop)."""
    registry = _installed.registry if _installed is not None else CollectorRegistry()
    body = await asyncio.to_thread(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
