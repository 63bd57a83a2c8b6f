"""A topic message of an older event version is upcast to the current type before handling."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import uuid4

import msgspec
import pytest

from ring_events import headers as h
from ring_events import registry
from ring_events.asyncapi import asyncapi_document
from ring_events.base import IntegrationEvent, Upcast
from ring_events.envelope import Envelope, UndecodableMessage, decode_envelope, encode_envelope

TOPIC = "ring.parcels.events"


def _weighed_v1_to_v2(fields: dict[str, Any]) -> dict[str, Any]:
    """Version 1 weighed in kilograms as a float; version 2 in whole grams."""
    kilograms = fields.pop("weight_kg")
    return {**fields, "weight_grams": round(kilograms * 1000)}


class ParcelWeighedV2(IntegrationEvent, frozen=True, kw_only=True, tag="parcel.weighed.v2"):
    """A parcel was weighed (in grams)."""

    upcasts: ClassVar[dict[str, Upcast]] = {"parcel.weighed.v1": _weighed_v1_to_v2}

    parcel_id: str
    weight_grams: int


class ParcelShipped(IntegrationEvent, frozen=True, kw_only=True, tag="parcel.shipped.v1"):
    """A parcel left."""

    parcel_id: str


@pytest.fixture(autouse=True)
def parcels_topic(monkeypatch: pytest.MonkeyPatch) -> None:
    """A topic whose weighing event is now at version 2."""
    union = ParcelWeighedV2 | ParcelShipped
    monkeypatch.setitem(registry.EVENT_UNIONS, TOPIC, union)
    monkeypatch.setitem(registry._DECODERS, TOPIC, msgspec.json.Decoder(union))


def _record(value: dict[str, Any], event_type: str) -> tuple[bytes, bytes, dict[str, str]]:
    """A record as a version-1 producer wrote it (its own JSON and headers)."""
    headers = {
        h.NOTIFICATION_ID: "7",
        h.PREVIOUS_NOTIFICATION_ID: "3",
        h.EVENT_ID: "e-7",
        h.OCCURRED_AT: value["occurred_at"],
        h.CORRELATION_ID: "c",
        h.CAUSATION_ID: "c",
        h.SOURCE: "parcels",
        h.EVENT_TYPE: event_type,
    }
    return b"parcel-1", msgspec.json.encode(value), headers


def _v1(**fields: Any) -> dict[str, Any]:
    return {
        "type": "parcel.weighed.v1",
        "occurred_at": datetime(2030, 1, 1, tzinfo=UTC).isoformat(),
        "parcel_id": "parcel-1",
        "weight_kg": 1.25,
        **fields,
    }


def test_a_version_1_message_is_read_as_version_2() -> None:
    key, value, headers = _record(_v1(), "parcel.weighed.v1")
    envelope = decode_envelope(TOPIC, key, value, headers)
    assert envelope.event == ParcelWeighedV2(
        occurred_at=datetime(2030, 1, 1, tzinfo=UTC), parcel_id="parcel-1", weight_grams=1250
    )
    assert (envelope.event_id, envelope.notification_id, envelope.key) == ("e-7", 7, "parcel-1")


def test_a_current_message_needs_no_upcast() -> None:
    event = ParcelWeighedV2(occurred_at=datetime.now(UTC), parcel_id="p", weight_grams=5)
    envelope = Envelope(
        event=event,
        topic=TOPIC,
        key="p",
        notification_id=2,
        previous_notification_id=0,
        event_id=str(uuid4()),
        occurred_at=event.occurred_at,
        correlation_id="c",
        causation_id="c",
        source="parcels",
    )
    assert decode_envelope(TOPIC, *encode_envelope(envelope)).event == event


def test_an_old_message_the_upcast_cannot_read_is_undecodable() -> None:
    key, value, headers = _record(_v1(weight_kg=None), "parcel.weighed.v1")
    with pytest.raises(UndecodableMessage, match=r"cannot upcast 'parcel\.weighed\.v1'"):
        decode_envelope(TOPIC, key, value, headers)
    broken = _v1()
    del broken["weight_kg"]
    key, value, headers = _record(broken, "parcel.weighed.v1")
    with pytest.raises(UndecodableMessage, match="cannot upcast"):
        decode_envelope(TOPIC, key, value, headers)


def test_the_header_must_name_the_type_the_value_was_written_with() -> None:
    key, value, headers = _record(_v1(), "parcel.weighed.v2")
    with pytest.raises(UndecodableMessage):
        decode_envelope(TOPIC, key, value, headers)


def test_the_contract_lists_the_tags_a_type_is_upcast_from() -> None:
    messages = asyncapi_document()["components"]["messages"]
    assert messages["parcel_weighed_v2"]["x-ring-upcasts-from"] == ["parcel.weighed.v1"]
    assert "x-ring-upcasts-from" not in messages["parcel_shipped_v1"]
