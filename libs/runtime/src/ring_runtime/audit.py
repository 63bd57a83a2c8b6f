"""``GET /internal/audit/{aggregate_id}``: the stored events of one aggregate, decoded, each
with the correlation and causation ids it was recorded under; ``?version=N`` / ``?as_of=TIME``
stop the history there and add the aggregate's ``state_at`` that point (time travel).
``GET /internal/audit/correlations?ids=A,B``: every event this service recorded under those
correlation ids (the pieces of a cross-service trail, see the gateway's
``/v1/admin/audit/trails/{id}``). Unknown query parameters are refused with 400.

Registered by :func:`ring_runtime.process.create_service_app`, so every service answers for
the aggregates in its own event store (read through the application's mapper, so encrypted and
compressed events come back decoded). The gateway asks every service and returns the one that
knows the aggregate (admins only); the path is internal and never exposed publicly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.params import FromPath
from psycopg.sql import SQL, Identifier

from ring_runtime.http import allow, error_response
from ring_runtime.identity import ADMIN
from ring_runtime.integrity import event_leaves
from ring_runtime.recorder import RingProcessRecorder

#: Most events one answer carries (the oldest first); ``truncated`` says when more exist.
MAX_EVENTS = 10_000


#: Most correlation ids one ``/internal/audit/correlations`` request may name.
MAX_CORRELATIONS = 200


class AuditEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One stored event: its topic, class name, version, time, decoded state and context."""

    topic: str
    name: str
    version: int
    timestamp: datetime | None
    state: dict[str, Any]
    aggregate_id: UUID | None = None
    service: str | None = None
    notification_id: int | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    actor: str | None = None


class AuditTrail(msgspec.Struct, frozen=True, kw_only=True):
    """Every stored event of one aggregate, oldest first (up to ``version`` / ``as_of``)."""

    aggregate_id: UUID
    service: str
    events: list[AuditEvent]
    truncated: bool = False
    state_at: dict[str, Any] | None = None


class CorrelatedEvents(msgspec.Struct, frozen=True, kw_only=True):
    """Events one service recorded under some correlation ids, in notification order."""

    service: str
    events: list[AuditEvent]
    truncated: bool = False


def _jsonable(value: Any) -> Any:
    return msgspec.to_builtins(value, enc_hook=str, str_keys=True)


def read_trail(
    application: Application[UUID],
    service: str,
    aggregate_id: UUID,
    *,
    version: int | None = None,
    as_of: datetime | None = None,
) -> AuditTrail:
    """The stored events of ``aggregate_id`` in ``application``'s store (may be empty).

    With ``version`` or ``as_of`` the history stops there, and ``state_at`` holds the
    aggregate as it was at its last event kept.
    """
    stored = application.recorder.select_events(aggregate_id, lte=version, limit=MAX_EVENTS + 1)
    contexts = _contexts(application, aggregate_id)
    events = [
        _audit_event(application, record, service, contexts.get(record.originator_version))
        for record in stored[:MAX_EVENTS]
    ]
    if as_of is not None:
        events = [e for e in events if e.timestamp is not None and e.timestamp <= as_of]
    state_at = None
    if (version is not None or as_of is not None) and events:
        aggregate: Any = application.repository.get(aggregate_id, version=events[-1].version)
        state_at = {
            str(k).lstrip("_"): _jsonable(v)
            for k, v in vars(aggregate).items()
            if k != "_pending_events"
        }
    return AuditTrail(
        aggregate_id=aggregate_id,
        service=service,
        events=events,
        truncated=len(stored) > MAX_EVENTS,
        state_at=state_at,
    )


def read_correlated(
    application: Application[UUID], service: str, correlation_ids: list[str]
) -> CorrelatedEvents:
    """Every event ``application`` recorded under one of ``correlation_ids``."""
    recorder = application.recorder
    if not isinstance(recorder, RingProcessRecorder):
        return CorrelatedEvents(service=service, events=[])
    query = SQL(
        "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
        "c.correlation_id, c.causation_id, c.actor FROM {schema}.{context} c JOIN {schema}.{events} e "
        "ON e.originator_id = c.originator_id AND e.originator_version = c.originator_version "
        "WHERE c.correlation_id = ANY(%s) ORDER BY e.notification_id LIMIT %s"
    ).format(
        schema=Identifier(recorder.datastore.schema),
        context=Identifier(recorder.context_table_name),
        events=Identifier(recorder.events_table_name),
    )
    with recorder.datastore.get_connection() as conn:
        rows = conn.execute(query, (correlation_ids, MAX_EVENTS + 1)).fetchall()
    events = [
        _audit_event(
            application,
            StoredEvent(
                row["originator_id"], row["originator_version"], row["topic"], row["state"]
            ),
            service,
            (row["correlation_id"], row["causation_id"], row["actor"]),
            notification_id=row["notification_id"],
        )
        for row in rows[:MAX_EVENTS]
    ]
    return CorrelatedEvents(service=service, events=events, truncated=len(rows) > MAX_EVENTS)


Context = tuple[str, str, str | None]


def _contexts(application: Application[UUID], aggregate_id: UUID) -> dict[int, Context]:
    recorder = application.recorder
    if not isinstance(recorder, RingProcessRecorder):  # the in-memory store keeps no context
        return {}
    query = SQL(
        "SELECT originator_version, correlation_id, causation_id, actor FROM {}.{} "
        "WHERE originator_id = %s"
    ).format(Identifier(recorder.datastore.schema), Identifier(recorder.context_table_name))
    with recorder.datastore.get_connection() as conn:
        rows = conn.execute(query, (aggregate_id,)).fetchall()
    return {
        int(row["originator_version"]): (row["correlation_id"], row["causation_id"], row["actor"])
        for row in rows
    }


def _audit_event(
    application: Application[UUID],
    record: StoredEvent,
    service: str,
    context: Context | None,
    *,
    notification_id: int | None = None,
) -> AuditEvent:
    domain_event = application.mapper.to_domain_event(record)
    attributes = dict(getattr(domain_event, "__dict__", {}))
    timestamp = attributes.pop("timestamp", None)
    for key in ("originator_id", "originator_version"):
        attributes.pop(key, None)
    return AuditEvent(
        topic=record.topic,
        name=type(domain_event).__qualname__,
        version=record.originator_version,
        timestamp=timestamp if isinstance(timestamp, datetime) else None,
        state={str(k): _jsonable(v) for k, v in attributes.items()},
        aggregate_id=UUID(str(record.originator_id)),
        service=service,
        notification_id=notification_id,
        correlation_id=context[0] if context else None,
        causation_id=context[1] if context else None,
        actor=context[2] if context else None,
    )


@get(
    "/internal/audit/{aggregate_id:uuid}",
    operation_id="GetAuditTrail",
    tags=["operations"],
    guards=[allow(ADMIN)],
)
async def audit_trail(
    aggregate_id: FromPath[UUID], state: State, request: Request[Any, Any, Any]
) -> Response[Any]:
    """The aggregate's stored events, oldest first; 404 ``aggregate_not_found`` if unknown.

    ``?version=N`` and ``?as_of=ISO-8601`` stop the history there and add ``state_at``;
    anything else in the query string is refused with 400 ``unknown_query_parameter``.
    """
    params, refusal = _query(request, {"version", "as_of"})
    if refusal is not None:
        return refusal
    try:
        version = int(params["version"]) if "version" in params else None
        as_of = datetime.fromisoformat(params["as_of"]) if "as_of" in params else None
    except ValueError as error:
        return error_response(400, "invalid_query_parameter", str(error))
    if (version is not None and version < 1) or (as_of is not None and as_of.tzinfo is None):
        return error_response(
            400, "invalid_query_parameter", "version must be >= 1; as_of needs a time zone"
        )
    application: Application[UUID] = state.application
    service: str = state.runtime.settings.service
    trail = await asyncio.to_thread(
        lambda: read_trail(application, service, aggregate_id, version=version, as_of=as_of)
    )
    if not trail.events:
        return error_response(
            404, "aggregate_not_found", f"no events of {aggregate_id} in the {service} service"
        )
    return Response(msgspec.to_builtins(trail))


@get(
    "/internal/audit/correlations",
    operation_id="GetCorrelatedEvents",
    tags=["operations"],
    guards=[allow(ADMIN)],
)
async def correlated_events(state: State, request: Request[Any, Any, Any]) -> Response[Any]:
    """Events recorded under the comma-separated correlation ``ids`` (at most 200)."""
    params, refusal = _query(request, {"ids"})
    if refusal is not None:
        return refusal
    ids = [i for i in params.get("ids", "").split(",") if i]
    if not ids or len(ids) > MAX_CORRELATIONS:
        return error_response(
            400, "invalid_query_parameter", f"ids must name 1 to {MAX_CORRELATIONS} correlations"
        )
    application: Application[UUID] = state.application
    service: str = state.runtime.settings.service
    found = await asyncio.to_thread(read_correlated, application, service, ids)
    return Response(msgspec.to_builtins(found))


@get(
    "/internal/audit/proofs/{aggregate_id:uuid}",
    operation_id="GetInclusionProof",
    tags=["operations"],
    guards=[allow(ADMIN)],
)
async def inclusion_proof(
    aggregate_id: FromPath[UUID], state: State, request: Request[Any, Any, Any]
) -> Response[Any]:
    """Proof that an event (``?version=N``, default the latest) is in the signed tree.

    The answer names the event (its ``event_id`` is the one its topic message carries), its
    leaf, the newest checkpoint covering it and the audit path; check it against the checkpoint
    you took from ``ring.audit.checkpoints`` (docs/audit-proofs.md), not against the one in the
    answer. 404 ``event_not_chained`` if the event is not (yet) in the tree; 409
    ``not_yet_checkpointed`` while no checkpoint covers it (retry after
    ``RING_AUDIT_CHECKPOINT_INTERVAL_MS``).
    """
    params, refusal = _query(request, {"version"})
    if refusal is not None:
        return refusal
    try:
        version = int(params["version"]) if "version" in params else None
    except ValueError as error:
        return error_response(400, "invalid_query_parameter", str(error))
    application: Application[UUID] = state.application
    leaves = event_leaves(state.runtime.settings, application.name)

    def prove() -> dict[str, Any] | None:
        with leaves.connect() as conn:
            try:
                return leaves.proof(conn, aggregate_id, version)
            except psycopg.errors.UndefinedTable:  # the chainer has not started yet
                return None

    proof = await asyncio.to_thread(prove)
    if proof is None:
        return error_response(
            404, "event_not_chained", f"no chained event of {aggregate_id} (version {version})"
        )
    if "checkpoint" not in proof:
        return error_response(
            409, "not_yet_checkpointed", "no signed checkpoint covers this event yet", proof
        )
    return Response(proof)


def _query(
    request: Request[Any, Any, Any], allowed: set[str]
) -> tuple[dict[str, str], Response[Any] | None]:
    params = dict(request.query_params)
    unknown = sorted(set(params) - allowed)
    if unknown:
        return params, error_response(
            400,
            "unknown_query_parameter",
            f"unknown query parameter(s): {', '.join(unknown)}",
            {"allowed": sorted(allowed)},
        )
    return params, None


#: Rounds of following aggregates that name one already in the trail; bounds the search.
TRAIL_ROUNDS = 4

#: Asks every service ``GET path?params``; returns the JSON bodies of the 200 answers.
AskAll = Callable[[str, dict[str, str]], Awaitable[list[Any]]]


async def gather_trail(trail_id: str, ask_all: AskAll) -> dict[str, Any] | None:
    """Everything one business transaction caused in every service, oldest first (None: nothing).

    ``trail_id`` is a correlation id (a request's ``X-Correlation-ID``) or an aggregate id (a
    task, usually). For an aggregate the trail starts from the correlation ids of its own
    events and follows the aggregates that name one already in the trail (an order names its
    task, a voucher or a dispute its order), up to :data:`TRAIL_ROUNDS` rounds; it then
    gathers every event recorded under those correlation ids. Events come in time order, then
    each service's notification order, each with service, aggregate, version, time,
    correlation and causation.
    """
    correlations = {trail_id}
    known: set[str] = set()
    frontier = [trail_id] if _is_uuid(trail_id) else []
    events: list[dict[str, Any]] = []
    for _ in range(TRAIL_ROUNDS):
        for aggregate in frontier:
            known.add(aggregate)
            for answer in await ask_all(f"/internal/audit/{aggregate}", {}):
                correlations |= {
                    e["correlation_id"] for e in answer["events"] if e["correlation_id"]
                }
        ids = ",".join(sorted(correlations)[:MAX_CORRELATIONS])
        answers = await ask_all("/internal/audit/correlations", {"ids": ids})
        events = [event for answer in answers for event in answer["events"]]
        frontier = sorted(
            {
                str(e["aggregate_id"])
                for e in events
                if str(e["aggregate_id"]) not in known
                and known & {str(v) for v in e["state"].values()}
            }
        )
        if not frontier:
            break
    if not events:
        return None
    events.sort(key=lambda e: (e["timestamp"] or "", e["service"], e["notification_id"] or 0))
    return {"id": trail_id, "correlation_ids": sorted(correlations), "events": events}


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True
