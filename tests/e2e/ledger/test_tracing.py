"""One trace from a publish request through the task store, the relay, Kafka and the ledger's
saga step to the ledger's own publish (issue 13)."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
from httpx import AsyncClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from ring_runtime.telemetry import configure_telemetry
from ring_runtime.testing import eventually

from .conftest import create_and_publish, deposit, task_status

pytestmark = pytest.mark.integration


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span ended in this process while the test runs."""
    exporter = InMemorySpanExporter()
    configure_telemetry("test").tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


def only(found: list[ReadableSpan], name: str, **where: object) -> ReadableSpan:
    matching = [
        s
        for s in found
        if s.name == name and all((s.attributes or {}).get(k) == v for k, v in where.items())
    ]
    assert len(matching) == 1, (name, where, [s.name for s in found])
    return matching[0]


async def test_a_publish_is_one_trace_to_the_ledger_and_back(
    services: tuple[AsyncClient, AsyncClient], spans: InMemorySpanExporter
) -> None:
    ledger, tasks = services
    owner = uuid4()
    await deposit(ledger, owner, 25_000)
    task_id = await create_and_publish(tasks, owner, slots=1)
    task = await eventually(
        lambda: task_status(tasks, task_id, "published", "funding_failed"), within=90
    )
    assert task["status"] == "published"

    async def request_trace() -> list[ReadableSpan] | None:
        found = spans.get_finished_spans()
        server = [s for s in found if s.name == "POST /tasks/{task_id}/publish"]
        if not server:
            return None
        trace_id = server[0].context.trace_id
        mine = [s for s in found if s.context.trace_id == trace_id]
        names = {s.name for s in mine}
        return (
            mine
            if "ring.ledger.events publish" in names
            and "ring.task.events process" in {n for n in names}
            else None
        )

    try:
        trace = await eventually(request_trace, within=60)
    except BaseException:
        for s in spans.get_finished_spans():
            print(
                "SPAN",
                s.name,
                s.kind,
                s.context.trace_id,
                s.context.span_id,
                s.parent.span_id if s.parent else None,
            )
        raise
    by_id = {s.context.span_id: s for s in trace}
    server = only(trace, "POST /tasks/{task_id}/publish")
    assert server.kind is SpanKind.SERVER
    published = [s for s in trace if s.name == "ring.task.events publish"]
    assert published
    assert all(s.kind is SpanKind.PRODUCER for s in published)
    # The relay's producer span is a child of the store save of the request.
    parent = published[0].parent
    assert parent is not None
    save = by_id[parent.span_id]
    assert save.name == "Tasks save"
    consumed = [
        s for s in trace if s.name == "ring.task.events process" and s.kind is SpanKind.CONSUMER
    ]
    assert consumed
    for span in consumed:
        assert span.parent is not None
        assert by_id[span.parent.span_id].kind is SpanKind.PRODUCER
        assert span.attributes is not None
        assert span.attributes["messaging.destination.name"] == "ring.task.events"
    # The ledger's publish descends from a consumer span (saga step → save → publish).
    ledger_publish = next(s for s in trace if s.name == "ring.ledger.events publish")
    ancestors = []
    cursor = ledger_publish
    while cursor.parent is not None and cursor.parent.span_id in by_id:
        cursor = by_id[cursor.parent.span_id]
        ancestors.append(cursor.name)
    assert "Ledger save" in ancestors, ancestors
    assert "ring.task.events process" in ancestors, ancestors
    assert ancestors[-1] == "POST /tasks/{task_id}/publish", ancestors
