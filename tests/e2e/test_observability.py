"""Observability of the running platform (issue 13): metrics on every process, one trace per
business transaction.

``ring run`` starts every process with an OTLP endpoint pointing at a receiver in this test (a
real HTTP server on a socket, decoding the protobuf exports), so what is checked here is what a
collector would receive.
"""

from __future__ import annotations

import gzip
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from uuid import uuid4

import httpx
import psycopg
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from prometheus_client.parser import text_string_to_metric_families
from psycopg.sql import SQL, Identifier

from ring_runtime.settings import SERVICE_PORTS
from ring_runtime.testing import wait_until

pytestmark = [pytest.mark.e2e]

GATEWAY = f"http://127.0.0.1:{SERVICE_PORTS['gateway']}"
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


class PartyA:
    """A funded Party A publishing tasks through the gateway."""

    def __init__(self) -> None:
        email, password = f"a-{uuid4().hex[:8]}@ring.test", "correct horse 9!"
        registered = httpx.post(
            f"{GATEWAY}/v1/auth/register",
            json={"email": email, "password": password, "role": "party_a", "display_name": "A"},
        )
        assert registered.status_code == 201, registered.text
        login = httpx.post(f"{GATEWAY}/v1/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
        self.client = httpx.Client(
            base_url=GATEWAY,
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
            timeout=15,
        )
        deposit = self.client.post(
            "/v1/wallet/deposits",
            json={"amount_minor": 1_000_000, "currency": "CNY"},
            headers={"Idempotency-Key": str(uuid4())},
        )
        assert deposit.status_code in (200, 201), deposit.text

    def publish_task(self, traceparent: str | None = None) -> str:
        """Draft a task, publish it (under ``traceparent`` if given), wait until published."""
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
        headers = {"traceparent": traceparent} if traceparent else {}
        published = self.client.post(f"/v1/tasks/{task_id}/publish", headers=headers)
        assert published.status_code == 202, published.text
        wait_until(
            lambda: self.client.get(f"/v1/tasks/{task_id}").json()["status"] == "published",
            what="task published",
        )
        return task_id


def scrape(service: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """``GET /metrics`` of one process: samples by name."""
    answer = httpx.get(f"http://127.0.0.1:{SERVICE_PORTS[service]}/metrics", timeout=10)
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
        assert httpx.get(f"http://127.0.0.1:{port}{page}", timeout=10).status_code < 500
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


def test_a_publish_is_one_trace_across_the_processes_it_touches(
    platform: dict[str, str], receiver: OtlpReceiver
) -> None:
    a = PartyA()
    trace_id = uuid4().hex
    a.publish_task(traceparent=f"00-{trace_id}-{uuid4().hex[:16]}-01")

    def services() -> set[str]:
        return {span.service for span in receiver.trace(trace_id)}

    def unlinked() -> list[ReceivedSpan]:
        """Consumer spans whose producer span has not (yet) been received."""
        spans = receiver.trace(trace_id)
        producers = {s.span_id for s in spans if s.kind == PRODUCER}
        return [
            s
            for s in spans
            if s.kind == CONSUMER and s.parent_id not in producers and not set(s.links) & producers
        ]

    # Processes export on their own schedule: wait until every consumer's producer arrived.
    wait_until(
        lambda: len(services()) >= 5 and not unlinked(),
        within=30,
        what=lambda: f"5 services {services()}, every consumer linked: {unlinked()}",
    )
    spans = receiver.trace(trace_id)
    kinds = {s.kind for s in spans}
    assert {PRODUCER, CONSUMER} <= kinds
    assert {"ring-gateway", "ring-task", "ring-ledger"} <= services()
    names = {span.name for span in spans}
    assert "POST /v1/tasks/{task_id}/publish" in names, names
    assert "ring.task.events publish" in names, names
    assert "ring.ledger.events publish" in names, names
    assert not [name for name in names if UUID_TEXT.search(name)], names
