"""The analysts' contract: an AsyncAPI 3.0 document of every public topic, from this package.

Generated from the same declarations the producers and consumers use (the unions of
:mod:`ring_events.registry`, the header names of :mod:`ring_events.headers`), so it cannot drift
from the code. Each topic is a channel whose messages are the topic's event types, with the
payload schema msgspec derives, the Kafka key, the headers, and the rules a reader relies on:

- **ordering**: per aggregate (the Kafka key, or the ``aggregate_id`` header when present);
  ``previous_notification_id`` chains the events of one aggregate, so a gap is detectable;
- **dedupe**: a message may arrive more than once (at-least-once relay, operator republishes);
  ``event_id`` is stable across every redelivery — count each ``event_id`` once;
- **evolution**: fields are only added, with defaults; a breaking change is a new ``.vN`` type;
  a reader skips event types it does not know and goes on; where a new type replaces an older
  one, its message lists the older tags it is read from (``x-ring-upcasts-from``) and a reader
  upcasts such a message to the new type before handling it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ring_events import headers as h
from ring_events.registry import EVENT_UNIONS, event_types

ASYNCAPI_VERSION = "3.0.0"

#: Rules every reader relies on, stated once in the document (``info.description``).
RULES = (
    "Ordering: per aggregate (Kafka key, or the aggregate_id header when present); "
    "previous_notification_id chains the events of one aggregate. "
    "Dedupe: delivery is at-least-once and operators may republish; event_id is stable across "
    "every redelivery, so count each event_id once. "
    "Evolution: fields are only added, with defaults; a breaking change is a new .vN type; a "
    "reader skips event types it does not know. A type that replaces an older one lists the "
    "older tags in x-ring-upcasts-from; a reader upcasts a message of such a tag to the new type "
    "before handling it (the topic keeps what was written)."
)

_HEADERS: dict[str, tuple[str, str]] = {
    h.EVENT_ID: ("string", "Stable id of this event; the dedupe key (same on every redelivery)."),
    h.EVENT_TYPE: ("string", "The value's type tag, e.g. task.published.v1."),
    h.NOTIFICATION_ID: ("string", "Position in the producer's log (a decimal integer)."),
    h.PREVIOUS_NOTIFICATION_ID: (
        "string",
        "Position of the previous event of the same aggregate, 0 if none (decimal integer).",
    ),
    h.OCCURRED_AT: ("string", "When the business fact happened (ISO 8601, UTC)."),
    h.CORRELATION_ID: ("string", "Id shared by every event of one business transaction."),
    h.CAUSATION_ID: ("string", "Event id (or request id) that directly caused this one."),
    h.SOURCE: ("string", "Producing service."),
    h.AGGREGATE_ID: ("string", "Aggregate id when the Kafka key is a partition key instead."),
    h.TRACEPARENT: ("string", "W3C trace context of the producing span."),
}
_REQUIRED_HEADERS = sorted(set(_HEADERS) - {h.AGGREGATE_ID, h.TRACEPARENT})


def asyncapi_document(examples: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every topic; ``examples`` maps a type tag to a payload."""
    examples = examples or {}
    _, schemas = msgspec.json.schema_components(
        list(EVENT_UNIONS.values()), ref_template="#/components/schemas/{name}"
    )
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in sorted(EVENT_UNIONS):
        channel_id = topic.replace(".", "_")
        channel_messages = {}
        for cls in event_types(topic):
            tag = str(cls.__struct_config__.tag)
            name = tag.replace(".", "_")
            message: dict[str, Any] = {
                "name": tag,
                "title": cls.__name__,
                "summary": (cls.__doc__ or "").strip().split("\n")[0],
                "contentType": "application/json",
                "headers": {"$ref": "#/components/schemas/RingHeaders"},
                "payload": {"$ref": f"#/components/schemas/{cls.__name__}"},
                "bindings": {"kafka": {"key": {"type": "string", "description": "Aggregate id"}}},
            }
            if cls.upcasts:
                message["x-ring-upcasts-from"] = sorted(cls.upcasts)
            if tag in examples:
                example_headers = {h.EVENT_TYPE: tag, h.EVENT_ID: "<stable event id>"}
                message["examples"] = [
                    {"name": tag, "payload": examples[tag], "headers": example_headers}
                ]
            messages[name] = message
            channel_messages[name] = {"$ref": f"#/components/messages/{name}"}
        channels[channel_id] = {
            "address": topic,
            "title": topic,
            "description": f"Every public event of {topic.split('.')[1]}. {RULES}",
            "messages": channel_messages,
        }
        operations[f"consume_{channel_id}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"Read {topic}; dedupe on the event_id header.",
        }
    schemas["RingHeaders"] = {
        "type": "object",
        "required": _REQUIRED_HEADERS,
        "properties": {
            name: {"type": kind, "description": text} for name, (kind, text) in _HEADERS.items()
        },
    }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {"title": "Ring public events", "version": "1.0.0", "description": RULES},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
