"""``GET /internal/audit/{aggregate_id}``: the stored events of one aggregate, decoded.

Registered by :func:`ring_runtime.process.create_service_app`, so every service answers for
the aggregates in its own event store (read through the application's mapper, so encrypted and
compressed events come back decoded). The gateway asks every service and returns the one that
knows the aggregate (admins only); the path is internal and never exposed publicly.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.application import Application
from litestar import Response, get
from litestar.datastructures import State
from litestar.params import FromPath

from ring_runtime.http import allow, error_response
from ring_runtime.identity import ADMIN

#: Most events one answer carries (the oldest first); ``truncated`` says when more exist.
MAX_EVENTS = 10_000


class AuditEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One stored event: its topic, class name, version, time and decoded state."""

    topic: str
    name: str
    version: int
    timestamp: datetime | None
    state: dict[str, Any]


class AuditTrail(msgspec.Struct, frozen=True, kw_only=True):
    """Every stored event of one aggregate, oldest first."""

    aggregate_id: UUID
    service: str
    events: list[AuditEvent]
    truncated: bool = False


def _jsonable(value: Any) -> Any:
    return msgspec.to_builtins(value, enc_hook=str, str_keys=True)


def read_trail(application: Application[UUID], service: str, aggregate_id: UUID) -> AuditTrail:
    """The stored events of ``aggregate_id`` in ``application``'s store (may be empty)."""
    stored = application.recorder.select_events(aggregate_id, limit=MAX_EVENTS + 1)
    events: list[AuditEvent] = []
    for record in stored[:MAX_EVENTS]:
        domain_event = application.mapper.to_domain_event(record)
        attributes = dict(getattr(domain_event, "__dict__", {}))
        timestamp = attributes.pop("timestamp", None)
        for key in ("originator_id", "originator_version"):
            attributes.pop(key, None)
        events.append(
            AuditEvent(
                topic=record.topic,
                name=type(domain_event).__qualname__,
                version=record.originator_version,
                timestamp=timestamp if isinstance(timestamp, datetime) else None,
                state={str(k): _jsonable(v) for k, v in attributes.items()},
            )
        )
    return AuditTrail(
        aggregate_id=aggregate_id,
        service=service,
        events=events,
        truncated=len(stored) > MAX_EVENTS,
    )


@get(
    "/internal/audit/{aggregate_id:uuid}",
    operation_id="GetAuditTrail",
    tags=["operations"],
    guards=[allow(ADMIN)],
)
async def audit_trail(aggregate_id: FromPath[UUID], state: State) -> Response[Any]:
    """The aggregate's stored events, oldest first; 404 ``aggregate_not_found`` if unknown."""
    application: Application[UUID] = state.application
    service: str = state.runtime.settings.service
    trail = await asyncio.to_thread(read_trail, application, service, aggregate_id)
    if not trail.events:
        return error_response(
            404, "aggregate_not_found", f"no events of {aggregate_id} in the {service} service"
        )
    return Response(msgspec.to_builtins(trail))
