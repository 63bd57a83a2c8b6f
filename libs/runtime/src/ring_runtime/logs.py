"""Log lines: readable text for people (``make run``), JSON lines for machines (production).

``RING_LOG_FORMAT=json`` (the default under ``RING_ENV=production``) writes one JSON object a
line with ``time``, ``level``, ``logger``, ``message``, ``service``, and, when the line was
written inside a traced or correlated piece of work, ``trace_id``, ``span_id`` and
``correlation_id``, so a log search can jump to the trace of a line and back. Trace ids come
from the OpenTelemetry logging instrumentation, which stamps them on every record.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import msgspec
from opentelemetry.instrumentation.logging import LoggingInstrumentor

from ring_runtime.context import active_event_context

#: Format of a readable line (``make run`` prefixes each with the process name).
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
#: ``trace_id`` / ``span_id`` the instrumentation stamps on records outside any span.
_NO_TRACE = {"0", "00000000000000000000000000000000", "0000000000000000"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line, with the service, trace and correlation of the record."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
        }
        trace_id = getattr(record, "otelTraceID", "0")
        if trace_id not in _NO_TRACE:
            line["trace_id"] = trace_id
            line["span_id"] = getattr(record, "otelSpanID", "0")
        context = active_event_context()
        if context is not None:
            line["correlation_id"] = context.correlation_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(line).decode()


def configure_logging(level: str, *, service: str, log_format: str = "text") -> None:
    """Send every record to standard error as ``log_format`` (``text`` or ``json``)."""
    handler = logging.StreamHandler()
    if log_format == "json":
        LoggingInstrumentor().instrument(set_logging_format=False, inject_trace_context=True)
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT, datefmt="%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # One INFO line per outgoing request is noise; its client span tells more.
    logging.getLogger("httpx").setLevel(logging.WARNING)
