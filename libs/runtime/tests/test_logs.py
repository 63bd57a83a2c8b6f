"""Log lines: JSON with service, trace and correlation in production; readable text otherwise."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from ring_runtime.commands.keys import fresh_secrets
from ring_runtime.context import causing
from ring_runtime.logs import JsonFormatter, configure_logging
from ring_runtime.settings import SettingsError, load_settings


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Everything the root logger writes, after :func:`configure_logging` set it up."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield io.StringIO()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_json_line_names_service_trace_span_and_correlation(captured: io.StringIO) -> None:
    configure_logging("INFO", service="ledger", log_format="json")
    handler = logging.getLogger().handlers[0]
    handler.setStream(captured)  # type: ignore[attr-defined]
    tracer = TracerProvider().get_tracer("test")
    with (
        tracer.start_as_current_span("step") as span,
        causing(correlation_id="corr-1", causation_id="cause-1"),
    ):
        logging.getLogger("ring.test").warning("reserved %s", 42)
    logging.getLogger("ring.test").info("outside")
    inside, outside = (json.loads(line) for line in captured.getvalue().splitlines())
    context = span.get_span_context()
    assert inside["message"] == "reserved 42"
    assert inside["level"] == "WARNING"
    assert inside["logger"] == "ring.test"
    assert inside["service"] == "ledger"
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")
    assert inside["correlation_id"] == "corr-1"
    assert outside["message"] == "outside"
    assert "trace_id" not in outside
    assert "correlation_id" not in outside


def test_text_lines_stay_readable(captured: io.StringIO) -> None:
    configure_logging("INFO", service="task", log_format="text")
    handler = logging.getLogger().handlers[0]
    handler.setStream(captured)  # type: ignore[attr-defined]
    logging.getLogger("ring.test").info("hello")
    line = captured.getvalue().strip()
    assert line.endswith("INFO    ring.test: hello")
    assert not isinstance(handler.formatter, JsonFormatter)


def test_production_writes_json_unless_told_otherwise() -> None:
    assert load_settings("task", {}).log_format == "text"
    assert load_settings("task", {"RING_LOG_FORMAT": "json"}).log_format == "json"
    fresh = fresh_secrets()
    production = {
        "RING_ENV": "production",
        "RING_DATABASE_URL": f"postgresql://ring_task:{fresh['POSTGRES_TASK_PASSWORD']}@db/ring",
        "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
        "RING_PAYMENTS_PROVIDER": "webhook",
        "RING_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "RING_KAFKA_SASL_USERNAME": "ring-task",
        "RING_KAFKA_SASL_PASSWORD": fresh["SCRAM_TASK_PASSWORD"],
        **{
            n: v
            for n, v in fresh.items()
            if n.startswith(("RING_", "CIPHER")) and n != "RING_GATEWAY_SIGNING_KEY"
        },
    }
    assert load_settings("task", production).log_format == "json"
    assert load_settings("task", {**production, "RING_LOG_FORMAT": "text"}).log_format == "text"
    with pytest.raises(SettingsError):
        load_settings("task", {"RING_LOG_FORMAT": "xml"})
