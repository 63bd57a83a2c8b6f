"""The Kafka wire form: envelope round trip, headers, and refusal of undecodable records."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from ring_events import headers as h
from ring_events.base import IntegrationEvent
from ring_events.envelope import (
    Envelope,
    UndecodableMessage,
    UnknownEventType,
    decode_envelope,
    encode_envelope,
)
from ring_events.task import OrderSubmitted, TaskFundingFailed
from ring_events.topics import LEDGER_EVENTS, TASK_EVENTS

AT = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class Stray(IntegrationEvent, frozen=True, kw_only=True, tag="test.stray.v1"):
    """An event no topic's contract includes."""


def _envelope(**overrides: object) -> Envelope:
    task_id = uuid4()
    fields: dict[str, object] = {
        "event": TaskFundingFailed(
            task_id=task_id, owner_id=uuid4(), reason="insufficient funds", occurred_at=AT
        ),
        "topic": TASK_EVENTS,
        "key": str(task_id),
        "notification_id": 42,
        "previous_notification_id": 17,
        "event_id": str(uuid4()),
        "occurred_at": AT,
        "correlation_id": "corr-1",
        "causation_id": "cause-1",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "source": "task",
    }
    fields.update(overrides)
    return Envelope(**fields)  # type: ignore[arg-type]


def test_round_trip_keeps_every_field() -> None:
    envelope = _envelope()
    key, value, headers = encode_envelope(envelope)
    assert key == envelope.key.encode()
    assert b'"type":"task.funding_failed.v1"' in value
    names = dict(headers)
    assert names[h.EVENT_TYPE] == b"task.funding_failed.v1"
    assert names[h.PREVIOUS_NOTIFICATION_ID] == b"17"
    assert names[h.OCCURRED_AT] == b"2030-01-01T12:00:00+00:00"
    assert decode_envelope(TASK_EVENTS, key, value, headers) == envelope


def test_a_partition_key_keys_the_record_and_the_aggregate_travels_in_a_header() -> None:
    envelope = _envelope(partition_key="order-7")
    key, value, headers = encode_envelope(envelope)
    assert key == b"order-7"
    assert dict(headers)[h.AGGREGATE_ID] == envelope.key.encode()
    decoded = decode_envelope(TASK_EVENTS, key, value, headers)
    assert (decoded.key, decoded.partition_key) == (envelope.key, "order-7")
    assert decoded == envelope
    plain_key, _, plain_headers = encode_envelope(_envelope())
    assert h.AGGREGATE_ID not in dict(plain_headers)
    assert decode_envelope(TASK_EVENTS, plain_key, value, plain_headers).partition_key is None


def test_decodes_already_decoded_headers_and_missing_traceparent() -> None:
    envelope = _envelope(traceparent=None)
    key, value, headers = encode_envelope(envelope)
    assert h.TRACEPARENT not in dict(headers)
    text = {name: raw.decode() for name, raw in headers}
    assert decode_envelope(TASK_EVENTS, key.decode(), value, text) == envelope


def test_optional_field_defaults_when_absent() -> None:
    envelope = _envelope()
    key, _, headers = encode_envelope(envelope)
    headers = [(n, b"order.submitted.v1" if n == h.EVENT_TYPE else v) for n, v in headers]
    value = (
        b'{"type":"order.submitted.v1","occurred_at":"2030-01-01T12:00:00Z",'
        b'"order_id":"7c2e9f1a-4b3d-4e5f-8a6b-9c0d1e2f3a4b",'
        b'"task_id":"0b9c6a3e-3f44-4c5e-9a61-2f0c1f6a7a01",'
        b'"owner_id":"5f1d2c4b-8e7a-4b3c-9d2e-1a0b9c8d7e6f",'
        b'"provider_id":"3a4b5c6d-7e8f-4a0b-8c2d-3e4f5a6b7c8d"}'
    )
    event = decode_envelope(TASK_EVENTS, key, value, headers).event
    assert isinstance(event, OrderSubmitted)
    assert event.voucher_id is None


def test_refuses_to_encode_an_event_on_a_foreign_topic() -> None:
    with pytest.raises(ValueError, match=LEDGER_EVENTS):
        encode_envelope(_envelope(topic=LEDGER_EVENTS))
    with pytest.raises(ValueError, match="not an event of topic"):
        encode_envelope(_envelope(event=Stray(occurred_at=AT)))


def _replace(
    headers: list[tuple[str, bytes]], name: str, value: bytes | None
) -> list[tuple[str, bytes]]:
    kept = [(n, v) for n, v in headers if n != name]
    return kept if value is None else [*kept, (name, value)]


GOOD_KEY, GOOD_VALUE, GOOD_HEADERS = encode_envelope(_envelope())


@pytest.mark.parametrize(
    ("topic", "key", "value", "headers", "reason"),
    [
        ("ring.unknown.events", GOOD_KEY, GOOD_VALUE, GOOD_HEADERS, "no events are registered"),
        (TASK_EVENTS, None, GOOD_VALUE, GOOD_HEADERS, "no key"),
        (TASK_EVENTS, GOOD_KEY, None, GOOD_HEADERS, "no value"),
        (TASK_EVENTS, GOOD_KEY, b"{not json", GOOD_HEADERS, "bad event"),
        (TASK_EVENTS, GOOD_KEY, b'{"type":"task.exploded.v1"}', GOOD_HEADERS, "bad event"),
        (TASK_EVENTS, GOOD_KEY, b'{"type":"task.cancelled.v1"}', GOOD_HEADERS, "bad event"),
        (
            TASK_EVENTS,
            GOOD_KEY,
            GOOD_VALUE,
            _replace(GOOD_HEADERS, h.NOTIFICATION_ID, None),
            "missing header 'notification_id'",
        ),
        (
            TASK_EVENTS,
            GOOD_KEY,
            GOOD_VALUE,
            _replace(GOOD_HEADERS, h.NOTIFICATION_ID, b"forty-two"),
            "not an integer",
        ),
        (
            TASK_EVENTS,
            GOOD_KEY,
            GOOD_VALUE,
            _replace(GOOD_HEADERS, h.OCCURRED_AT, b"yesterday"),
            "not ISO 8601",
        ),
        (
            TASK_EVENTS,
            GOOD_KEY,
            GOOD_VALUE,
            _replace(GOOD_HEADERS, h.OCCURRED_AT, b"2030-01-01T12:00:00"),
            "no timezone",
        ),
        (
            TASK_EVENTS,
            GOOD_KEY,
            GOOD_VALUE,
            _replace(GOOD_HEADERS, h.EVENT_TYPE, b"task.cancelled.v1"),
            "but value is",
        ),
        (TASK_EVENTS, GOOD_KEY, GOOD_VALUE, _replace(GOOD_HEADERS, h.SOURCE, b"\xff"), "UTF-8"),
    ],
)
def test_undecodable_records_are_refused_clearly(
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: list[tuple[str, bytes]],
    reason: str,
) -> None:
    with pytest.raises(UndecodableMessage, match=reason):
        decode_envelope(topic, key, value, headers)


def test_an_event_type_from_a_newer_producer_is_told_apart_to_be_skipped() -> None:
    """A well-formed message of a type this reader does not know is ``UnknownEventType`` (the
    consumer advances past it), not a poison message."""
    headers = _replace(GOOD_HEADERS, h.EVENT_TYPE, b"task.exploded.v1")
    with pytest.raises(UnknownEventType) as raised:
        decode_envelope(TASK_EVENTS, GOOD_KEY, b'{"type":"task.exploded.v1","x":1}', headers)
    envelope = decode_envelope(TASK_EVENTS, GOOD_KEY, GOOD_VALUE, GOOD_HEADERS)
    assert raised.value.type_tag == "task.exploded.v1"
    assert raised.value.key == envelope.key
    assert raised.value.notification_id == envelope.notification_id
    assert raised.value.previous_notification_id == envelope.previous_notification_id
