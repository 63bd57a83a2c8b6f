"""The message around an integration event, and its Kafka wire form.

On the wire, the key is the aggregate id (or, where related aggregates must stay in order, a
partition key such as the order id, with the aggregate id in the ``aggregate_id`` header), the
value is the event's JSON (with its ``type`` tag) and everything else travels in headers (see
:mod:`ring_events.headers`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from ring_events import headers as h
from ring_events.base import IntegrationEvent, event_type
from ring_events.registry import UnknownTopic, decoder_for, event_types

RawHeaders = Mapping[str, bytes | str] | Iterable[tuple[str, bytes | str]]

_ENCODER = msgspec.json.Encoder()


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """An integration event with its routing and tracing metadata."""

    event: IntegrationEvent
    topic: str
    key: str
    notification_id: int
    previous_notification_id: int
    event_id: str
    occurred_at: datetime
    correlation_id: str
    causation_id: str
    traceparent: str | None = None
    source: str
    #: Kafka key when it is not ``key`` (the aggregate id): related aggregates that must stay
    #: in order share a partition key; ``key`` then travels in the ``aggregate_id`` header.
    partition_key: str | None = None


class UndecodableMessage(ValueError):
    """A Kafka record that is not a valid Ring message; it can only be dead-lettered."""


class UnknownEventType(UndecodableMessage):
    """A well-formed Ring message of an event type this consumer does not know (a newer
    producer's): the consumer skips it and advances, as the contract asks of every reader."""

    def __init__(self, topic: str, type_tag: str, key: str, notification_id: int, previous: int):
        super().__init__(f"unknown event type {type_tag!r} on {topic}")
        self.type_tag = type_tag
        self.key = key
        self.notification_id = notification_id
        self.previous_notification_id = previous


class _Tagged(msgspec.Struct):
    type: str


def encode_envelope(env: Envelope) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Kafka ``(key, value, headers)`` for ``env``.

    Raises:
        ValueError: the event does not belong to ``env.topic``, so no consumer could decode it.
    """
    try:
        allowed = event_types(env.topic)
    except UnknownTopic as error:
        raise ValueError(str(error)) from None
    if type(env.event) not in allowed:
        raise ValueError(f"{type(env.event).__name__} is not an event of topic {env.topic}")
    headers = [
        (h.NOTIFICATION_ID, str(env.notification_id)),
        (h.PREVIOUS_NOTIFICATION_ID, str(env.previous_notification_id)),
        (h.EVENT_ID, env.event_id),
        (h.OCCURRED_AT, env.occurred_at.isoformat()),
        (h.CORRELATION_ID, env.correlation_id),
        (h.CAUSATION_ID, env.causation_id),
        (h.SOURCE, env.source),
        (h.EVENT_TYPE, event_type(env.event)),
    ]
    if env.traceparent is not None:
        headers.append((h.TRACEPARENT, env.traceparent))
    kafka_key = env.key
    if env.partition_key is not None and env.partition_key != env.key:
        headers.append((h.AGGREGATE_ID, env.key))
        kafka_key = env.partition_key
    encoded = [(name, value.encode()) for name, value in headers]
    return kafka_key.encode(), _ENCODER.encode(env.event), encoded


def decode_envelope(
    topic: str, key: bytes | str | None, value: bytes | None, headers: RawHeaders
) -> Envelope:
    """The :class:`Envelope` of a Kafka record consumed from ``topic``.

    ``headers`` may be the record's ``(name, bytes)`` pairs or an already decoded mapping.

    A message of an older version of an event that the topic's current type declares an
    upcast for (:attr:`~ring_events.base.IntegrationEvent.upcasts`) is upcast first: the
    envelope holds the current type, whatever version the producer wrote.

    Raises:
        UndecodableMessage: unknown topic, missing key or header, malformed header, bad JSON,
            unknown ``type`` tag, or an ``event_type`` header that contradicts the value.
    """
    try:
        decoder = decoder_for(topic)
    except UnknownTopic as error:
        raise UndecodableMessage(str(error)) from None
    if not key:
        raise UndecodableMessage(f"message on {topic} has no key")
    if value is None:
        raise UndecodableMessage(f"message on {topic} has no value")
    fields = _header_text(headers)
    written = None
    try:
        event = decoder.decode(value)
    except msgspec.DecodeError as error:
        upcast = _upcast(topic, value, fields)
        if upcast is None:
            _raise_if_unknown_type(topic, key, value, fields)
            raise UndecodableMessage(f"bad event on {topic}: {error}") from None
        written, event = upcast
    declared = _required(fields, h.EVENT_TYPE)
    if declared != (written or event_type(event)):
        raise UndecodableMessage(
            f"header {h.EVENT_TYPE}={declared!r} but value is {event_type(event)!r}"
        )
    kafka_key = key.decode() if isinstance(key, bytes) else key
    aggregate = fields.get(h.AGGREGATE_ID)
    return Envelope(
        event=event,
        topic=topic,
        key=aggregate or kafka_key,
        partition_key=kafka_key if aggregate else None,
        notification_id=_integer(fields, h.NOTIFICATION_ID),
        previous_notification_id=_integer(fields, h.PREVIOUS_NOTIFICATION_ID),
        event_id=_required(fields, h.EVENT_ID),
        occurred_at=_instant(fields, h.OCCURRED_AT),
        correlation_id=_required(fields, h.CORRELATION_ID),
        causation_id=_required(fields, h.CAUSATION_ID),
        traceparent=fields.get(h.TRACEPARENT),
        source=_required(fields, h.SOURCE),
    )


def _upcast(
    topic: str, value: bytes, fields: Mapping[str, str]
) -> tuple[str, IntegrationEvent] | None:
    """The tag ``value`` was written with and the current event it upcasts to, or None when
    no event type of ``topic`` reads that tag."""
    try:
        tag = msgspec.json.decode(value, type=_Tagged).type
    except msgspec.DecodeError:
        return None
    current = next((cls for cls in event_types(topic) if tag in cls.upcasts), None)
    if current is None or fields.get(h.EVENT_TYPE) != tag:
        return None
    try:
        old: dict[str, Any] = msgspec.json.decode(value)
        old.pop("type")
        new = {**current.upcasts[tag](old), "type": _tag_of(current)}
        return tag, decoder_for(topic).decode(_ENCODER.encode(new))
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError, TypeError, ValueError) as e:
        raise UndecodableMessage(f"cannot upcast {tag!r} on {topic}: {e!r}") from None


def _tag_of(cls: type[IntegrationEvent]) -> str:
    """The ``type`` tag of the event class ``cls``."""
    return str(cls.__struct_config__.tag)


def _raise_if_unknown_type(
    topic: str, key: bytes | str, value: bytes, fields: Mapping[str, str]
) -> None:
    """Raise :class:`UnknownEventType` when ``value`` is tagged with a type ``topic`` lacks."""
    try:
        tag = msgspec.json.decode(value, type=_Tagged).type
    except msgspec.DecodeError:
        return
    if (
        tag in {cls.__struct_config__.tag for cls in event_types(topic)}
        or fields.get(h.EVENT_TYPE) != tag
    ):
        return
    aggregate = fields.get(h.AGGREGATE_ID) or (key.decode() if isinstance(key, bytes) else key)
    raise UnknownEventType(
        topic,
        tag,
        aggregate,
        _integer(fields, h.NOTIFICATION_ID),
        _integer(fields, h.PREVIOUS_NOTIFICATION_ID),
    )


def _header_text(headers: RawHeaders) -> dict[str, str]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    try:
        return {
            name: value.decode() if isinstance(value, bytes) else value for name, value in pairs
        }
    except UnicodeDecodeError as error:
        raise UndecodableMessage(f"header is not UTF-8: {error}") from None


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise UndecodableMessage(f"missing header {name!r}")
    return value


def _integer(fields: Mapping[str, str], name: str) -> int:
    text = _required(fields, name)
    try:
        return int(text)
    except ValueError:
        raise UndecodableMessage(f"header {name!r} is not an integer: {text!r}") from None


def _instant(fields: Mapping[str, str], name: str) -> datetime:
    text = _required(fields, name)
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise UndecodableMessage(f"header {name!r} is not ISO 8601: {text!r}") from None
    if instant.tzinfo is None:
        raise UndecodableMessage(f"header {name!r} has no timezone: {text!r}")
    return instant
