"""Observability of the running platform (issue 13): metrics on every process, one trace per
business transaction.

``ring run`` starts every process with an OTLP endpoint pointing at a receiver in this test (a
real HTTP server on a socket, decoding the protobuf exports), so what is checked here is what a
collector would receive.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest
from opentelemetry import propagate, trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families
from psycopg.sql import SQL, Identifier

from ring_runtime.settings import SERVICE_PORTS
from ring_runtime.testing import admin_create, wait_until

pytestmark = [pytest.mark.e2e]

GATEWAY = f"http://127.0.0.1:{SERVICE_PORTS['gateway']}"
#: Seconds a request may take: password hashing and gauge sampling take seconds on a loaded
#: machine (two cores shared by a whole CI run).
TIMEOUT = 30
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as a collector received it."""

    service: str
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int
    links: tuple[str, ...]


class OtlpReceiver:
    """An OTLP/HTTP endpoint on a real socket, keeping every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.metric_exports = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path == "/v1/traces":
                    receiver.add(ExportTraceServiceRequest.FromString(body))
                elif self.path == "/v1/metrics":
                    receiver.metric_exports += 1
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._lock = threading.Lock()

    def add(self, request: ExportTraceServiceRequest) -> None:
        with self._lock:
            for resource_spans in request.resource_spans:
                service = next(
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                )
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append(
                            ReceivedSpan(
                                service=service,
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_id=span.parent_span_id.hex(),
                                name=span.name,
                                kind=span.kind,
                                links=tuple(link.span_id.hex() for link in span.links),
                            )
                        )

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def __enter__(self) -> OtlpReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    """The OTLP receiver, named in the environment ``ring run`` hands every process."""
    exporting = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_METRIC_EXPORT_INTERVAL": "2000",
    }
    saved = {name: os.environ.get(name) for name in exporting}
    with OtlpReceiver() as otlp:
        os.environ.update({**exporting, "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url})
        try:
            yield otlp
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@pytest.fixture(scope="module")
def platform(receiver: OtlpReceiver, platform: dict[str, str]) -> dict[str, str]:
    """The platform of ``conftest``, started after the receiver so it exports to it."""
    return platform


class Party:
    """A signed-in user of the public API."""

    def __init__(self, role: str, email: str | None = None) -> None:
        email, password = email or f"{role}-{uuid4().hex[:8]}@ring.test", "correct horse 9!"
        if role != "admin":
            registered = httpx.post(
                f"{GATEWAY}/v1/auth/register",
                json={"email": email, "password": password, "role": role, "display_name": role},
                timeout=TIMEOUT,
            )
            assert registered.status_code == 201, registered.text
        login = httpx.post(
            f"{GATEWAY}/v1/auth/login",
            json={"email": email, "password": password},
            timeout=TIMEOUT,
        )
        assert login.status_code == 200, login.text
        self.client = httpx.Client(
            base_url=GATEWAY,
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
            timeout=TIMEOUT,
        )
        self.id: str = self.client.get("/v1/me").json()["id"]

    def until(self, method: str, path: str, status: int, **kwargs: Any) -> httpx.Response:
        """Repeat a request until it answers ``status`` (other services catch up meanwhile)."""
        answers: list[httpx.Response] = []

        def attempt() -> httpx.Response | None:
            answers.append(self.client.request(method, path, **kwargs))
            assert answers[-1].status_code < 500, answers[-1].text
            return answers[-1] if answers[-1].status_code == status else None

        found = wait_until(attempt, what=lambda: f"{method} {path} → {status}: {answers[-1:]}")
        assert found is not None
        return found


class PartyA(Party):
    """A funded Party A publishing tasks through the gateway."""

    def __init__(self) -> None:
        super().__init__("party_a")
        deposit = self.client.post(
            "/v1/wallet/deposits",
            json={"amount_minor": 1_000_000, "currency": "CNY"},
            headers={"Idempotency-Key": str(uuid4())},
        )
        assert deposit.status_code in (200, 201), deposit.text

    def publish_task(self, trace_id: str | None = None) -> str:
        """Draft a task, publish it (in trace ``trace_id`` if given), wait until published."""
        draft = self.client.post(
            "/v1/tasks",
            json={
                "title": "Label images",
                "description": "Boxes around every car",
                "requirements": "bounding boxes",
                "acceptance_criteria": "IoU above 0.9",
                "deadline": "2030-01-01T00:00:00Z",
                "commission_minor": 1_000,
                "currency": "CNY",
                "slots": 1,
                "required_skills": ["labeling"],
                "approval_required": False,
            },
        )
        assert draft.status_code == 201, draft.text
        task_id: str = draft.json()["id"]
        with in_trace(trace_id) as headers:
            published = self.client.post(f"/v1/tasks/{task_id}/publish", headers=headers)
        assert published.status_code == 202, published.text
        wait_until(
            lambda: self.client.get(f"/v1/tasks/{task_id}").json()["status"] == "published",
            what="task published",
        )
        return task_id


@contextmanager
def in_trace(trace_id: str | None) -> Iterator[dict[str, str]]:
    """Requests sent inside this block belong to trace ``trace_id`` (none: no trace).

    The trace is the active context of this process, not only a hand-written header: once any
    earlier test of the session has built an app in this process, ``configure_telemetry`` has
    instrumented httpx here too, and the instrumentation writes ``traceparent`` from the active
    context, replacing a hand-written one (with a new root trace when no context is active).
    Without that instrumentation the yielded headers carry the same context.
    """
    if trace_id is None:
        yield {}
        return
    parent = SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(uuid4().hex[:16], 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    with trace.use_span(NonRecordingSpan(parent)):
        headers: dict[str, str] = {}
        propagate.inject(headers)
        yield headers


def scrape(service: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """``GET /metrics`` of one process: samples by name."""
    answer = httpx.get(f"http://127.0.0.1:{SERVICE_PORTS[service]}/metrics", timeout=TIMEOUT)
    assert answer.status_code == 200, (service, answer.text)
    assert answer.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def matching_lag() -> float | None:
    """The matching service's lag on the task topic, or ``None`` while unknown."""
    for labels, value in scrape("matching").get("ring_consumer_lag", []):
        if labels["topic"] == "ring.task.events" and labels["upstream"] == "task":
            return value
    return None


def test_every_process_serves_metrics_and_consumer_lag_follows_a_stalled_consumer(
    platform: dict[str, str],
) -> None:
    a = PartyA()
    a.publish_task()
    for service, port in SERVICE_PORTS.items():
        page = "/" if service == "web" else "/ready"
        assert httpx.get(f"http://127.0.0.1:{port}{page}", timeout=TIMEOUT).status_code < 500
    every = {service: scrape(service) for service in SERVICE_PORTS}
    for service, samples in every.items():
        assert "http_server_request_duration_seconds_count" in samples, service
    for service in ("task", "matching", "voucher", "ledger", "dispute"):
        assert "ring_relay_lag" in every[service], service
    assert every["task"]["ring_relay_published_total"][0][1] >= 2
    routes = {
        labels["http_route"]
        for labels, _ in every["gateway"]["http_server_request_duration_seconds_count"]
    }
    assert "/v1/tasks/{task_id}/publish" in routes, routes
    assert not any(UUID_TEXT.search(route) for route in routes), routes
    assert {labels["purpose"] for labels, _ in every["ledger"]["ring_ledger_total"]} >= {
        "escrow_held_minor"
    }
    wait_until(lambda: matching_lag() == 0, what="matching caught up with the task topic")

    # Stall matching's consumers: its tracking tables take no writes while this lock is held.
    with psycopg.connect(platform["RING_DATABASE_URL"]) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'matching' AND table_name LIKE '%%tracking'"
        ).fetchall()
        assert tables
        for (table,) in tables:
            conn.execute(
                SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(Identifier("matching", table))
            )
        a.publish_task()
        wait_until(lambda: (matching_lag() or 0) > 0, what="matching's lag shows the stall")
        conn.rollback()
    wait_until(lambda: matching_lag() == 0, what="matching's lag back to 0 after the stall")
    wait_until(
        lambda: all(value == 0 for _, value in scrape("task")["ring_relay_lag"]),
        what="task relay caught up",
    )


PRODUCER, CONSUMER = ProtoSpan.SPAN_KIND_PRODUCER, ProtoSpan.SPAN_KIND_CONSUMER


def assert_one_trace(
    receiver: OtlpReceiver, trace_id: str, expected: set[tuple[str, str]], *, services: int
) -> list[ReceivedSpan]:
    """The spans of ``trace_id`` once the ``expected`` (service, span name) pairs and spans of
    at least ``services`` processes arrived, and every consumer span's producer span (its
    parent, or a link) has arrived too."""

    def unlinked() -> list[ReceivedSpan]:
        """Consumer spans whose producer span has not (yet) been received."""
        spans = receiver.trace(trace_id)
        producers = {s.span_id for s in spans if s.kind == PRODUCER}
        return [
            s
            for s in spans
            if s.kind == CONSUMER and s.parent_id not in producers and not set(s.links) & producers
        ]

    def complete() -> bool:
        spans = receiver.trace(trace_id)
        return (
            expected <= named(spans)
            and len({s.service for s in spans}) >= services
            and not unlinked()
        )

    # Each process exports on its own schedule (OTEL_BSP_SCHEDULE_DELAY), some after the state
    # the test waited for is visible: wait for the last of them.
    wait_until(
        complete,
        within=60,
        what=lambda: (
            f"{expected} of {services} processes in {sorted(named(receiver.trace(trace_id)))},"
            f" unlinked consumers {unlinked()}"
        ),
    )
    spans = receiver.trace(trace_id)
    assert {PRODUCER, CONSUMER} <= {span.kind for span in spans}
    assert not [s.name for s in spans if UUID_TEXT.search(s.name)], "raw ids in span names"
    return spans


def named(spans: list[ReceivedSpan]) -> set[tuple[str, str]]:
    return {(span.service, span.name) for span in spans}


def test_a_publish_is_one_trace_across_the_processes_it_touches(
    platform: dict[str, str], receiver: OtlpReceiver
) -> None:
    a = PartyA()
    trace_id = uuid4().hex
    a.publish_task(trace_id=trace_id)

    assert_one_trace(
        receiver,
        trace_id,
        {
            ("ring-gateway", "POST /v1/tasks/{task_id}/publish"),
            ("ring-task", "ring.task.events publish"),
            ("ring-ledger", "ring.task.events process"),  # the funds are reserved ...
            ("ring-ledger", "ring.ledger.events publish"),
            ("ring-task", "ring.ledger.events process"),  # ... so the task is published
            ("ring-matching", "ring.task.events process"),  # and on the board
        },
        services=5,
    )


def test_an_approval_is_one_trace_until_the_order_is_settled(
    platform: dict[str, str], receiver: OtlpReceiver
) -> None:
    admin_email = f"admin-{uuid4().hex[:8]}@ring.test"
    admin_create(platform, admin_email, "correct horse 9!")
    admin, a, b = Party("admin", admin_email), PartyA(), Party("party_b")
    task_id = a.publish_task()
    qualification = b.client.post(
        "/v1/providers/me/qualifications",
        json={"kind": "certificate", "reference": "CERT-1", "skills": ["labeling"]},
    )
    assert qualification.status_code in (200, 201), qualification.text
    admin.until("POST", f"/v1/admin/providers/{b.id}/verify", 200)
    order_id = b.until("POST", f"/v1/tasks/{task_id}/orders", 201).json()["id"]
    voucher_id = b.until(
        "POST",
        f"/v1/orders/{order_id}/vouchers",
        201,
        files={"files": ("proof.png", png(), "image/png")},
        data={"note": "done"},
    ).json()["id"]

    trace_id = uuid4().hex
    with in_trace(trace_id) as headers:
        approved = a.client.post(f"/v1/vouchers/{voucher_id}/approve", headers=headers)
    assert approved.status_code == 200, approved.text
    wait_until(
        lambda: b.client.get(f"/v1/orders/{order_id}").json()["status"] == "settled",
        what="order settled",
    )

    assert_one_trace(
        receiver,
        trace_id,
        {
            ("ring-gateway", "POST /v1/vouchers/{voucher_id}/approve"),
            ("ring-voucher", "ring.voucher.events publish"),
            ("ring-task", "ring.voucher.events process"),  # the order is approved ...
            ("ring-task", "ring.task.events publish"),
            ("ring-ledger", "ring.task.events process"),  # ... the commission settled ...
            ("ring-ledger", "ring.ledger.events publish"),
            ("ring-task", "ring.ledger.events process"),  # ... and the order settled
        },
        services=4,
    )


def png() -> bytes:
    """A small PNG, distinct on every call (no duplicate-voucher flag)."""
    image = Image.new("RGB", (8, 8), color=tuple(os.urandom(3)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
