"""Metrics plumbing: route-template span names, gauges sampled per collection, /metrics text."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from opentelemetry.metrics import Observation

from ring_runtime.metrics import observe
from ring_runtime.telemetry import configure_telemetry, metrics_endpoint, route_span_details


def test_spans_are_named_by_route_template_never_by_ids() -> None:
    scope = {
        "method": "POST",
        "path": "/tasks/0d4b…/publish",
        "path_template": "/tasks/{task_id}/publish",
    }
    assert route_span_details(scope) == (  # type: ignore[arg-type]
        "POST /tasks/{task_id}/publish",
        {"http.route": "/tasks/{task_id}/publish"},
    )


@pytest.fixture
def client() -> Iterator[TestClient[Litestar]]:
    configure_telemetry("test")
    with TestClient(Litestar([metrics_endpoint])) as test_client:
        yield test_client


def test_gauges_are_sampled_at_each_scrape_and_a_failing_source_is_left_out(
    client: TestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ring_runtime.metrics.SAMPLE_REUSE_SECONDS", 0.0)
    lag = {"value": 3}

    def consumer() -> dict[str, list[Observation]]:
        attributes = {"consumer": "c", "topic": "ring.task.events", "upstream": "task"}
        return {"ring.consumer.lag": [Observation(lag["value"], attributes)]}

    def broken() -> dict[str, list[Observation]]:
        raise ConnectionError("owner down")

    forget = [observe(consumer), observe(broken)]
    try:
        first = client.get("/metrics")
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("text/plain")
        assert 'ring_consumer_lag{consumer="c"' in first.text
        assert "} 3.0" in first.text
        lag["value"] = 0
        assert "} 0.0" in client.get("/metrics").text
    finally:
        for done in forget:
            done()
    assert "ring_consumer_lag{" not in client.get("/metrics").text
