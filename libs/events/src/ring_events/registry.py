"""Which events travel on which topic: decoders and JSON Schemas per topic.

A context publishes one tagged union on its topic. To add a context, add one line to
:data:`EVENT_UNIONS`; decoders and schemas follow.
"""

from __future__ import annotations

import json
from typing import Any, get_args

import msgspec

from ring_events.base import IntegrationEvent
from ring_events.dispute import DisputeEventUnion
from ring_events.ledger import LedgerEvent
from ring_events.matching import MatchingEvent
from ring_events.task import TaskEvent
from ring_events.topics import (
    DISPUTE_EVENTS,
    LEDGER_EVENTS,
    MATCHING_EVENTS,
    TASK_EVENTS,
    VOUCHER_EVENTS,
)
from ring_events.voucher import VoucherEvent

#: The tagged union of events published on each topic.
EVENT_UNIONS: dict[str, Any] = {
    TASK_EVENTS: TaskEvent,
    MATCHING_EVENTS: MatchingEvent,
    LEDGER_EVENTS: LedgerEvent,
    VOUCHER_EVENTS: VoucherEvent,
    DISPUTE_EVENTS: DisputeEventUnion,
}

_DECODERS: dict[str, msgspec.json.Decoder[IntegrationEvent]] = {
    topic: msgspec.json.Decoder(union) for topic, union in EVENT_UNIONS.items()
}

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class UnknownTopic(LookupError):
    """No event union is registered for the topic."""


def decoder_for(topic: str) -> msgspec.json.Decoder[IntegrationEvent]:
    """The shared JSON decoder for the events of ``topic``."""
    try:
        return _DECODERS[topic]
    except KeyError:
        raise UnknownTopic(f"no events are registered for topic {topic!r}") from None


def event_types(topic: str) -> tuple[type[IntegrationEvent], ...]:
    """The event classes that may travel on ``topic``."""
    try:
        union = EVENT_UNIONS[topic]
    except KeyError:
        raise UnknownTopic(f"no events are registered for topic {topic!r}") from None
    return tuple(get_args(union))


def json_schema(topic: str) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a message value on ``topic``."""
    union = EVENT_UNIONS.get(topic)
    if union is None:
        raise UnknownTopic(f"no events are registered for topic {topic!r}")
    (root,), components = msgspec.json.schema_components([union], ref_template="#/$defs/{name}")
    schema = {"$schema": JSON_SCHEMA_DIALECT, "title": topic, **root, "$defs": components}
    # A JSON round trip gives plain JSON values (e.g. a tuple default becomes a list).
    normal: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(schema))
    return normal


def export_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every registered topic, by topic."""
    return {topic: json_schema(topic) for topic in EVENT_UNIONS}


def render_schema(schema: dict[str, Any]) -> str:
    """Stable text form of a schema (sorted keys, indented), as committed in snapshots."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
