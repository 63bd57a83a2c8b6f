"""The audit trail: the full stored event history of any aggregate, and cross-service trails.

Every internal service answers ``GET /internal/audit/{id}`` from its own event store
(:mod:`ring_runtime.audit`); aggregate ids are UUIDs, so at most one service knows an id. The
gateway asks them all at once and relays the one that knows it (``?version=`` / ``?as_of=``
pass through; other query parameters are refused with 400). The gateway's own store (users,
with password hashes and encrypted personal data) is deliberately not exposed here.

``GET /v1/admin/audit/trails/{id}``: everything one business transaction caused, in every
service (:func:`ring_runtime.audit.gather_trail`, which ``ring audit trail ID`` uses too).

``GET /v1/admin/audit/proofs/{id}``: an event's inclusion proof in its service's signed Merkle
tree (docs/audit-proofs.md), relayed from the service that stores it.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from ring_gateway.api.support import ADMIN, Gateway, example, relay, roles
from ring_gateway.tokens import Principal
from ring_gateway.upstream import UpstreamResponse, UpstreamUnavailable
from ring_runtime.audit import gather_trail
from ring_runtime.http import error_response

_TRAIL = {
    "aggregate_id": "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c",
    "service": "task",
    "truncated": False,
    "events": [
        {
            "topic": "ring_task.domain:Task.Created",
            "name": "Task.Created",
            "version": 1,
            "timestamp": "2026-11-27T10:00:00Z",
            "state": {"title": "Label 500 images", "slots": 2, "commission_minor": 10000},
        },
        {
            "topic": "ring_task.domain:Task.PublishRequested",
            "name": "Task.PublishRequested",
            "version": 2,
            "timestamp": "2026-11-27T10:01:00Z",
            "state": {"at": "2026-11-27T10:01:00Z"},
        },
    ],
}


@get(
    "/v1/admin/audit/{aggregate_id:uuid}",
    operation_id="GetAuditTrail",
    tags=["admin"],
    guards=[roles(ADMIN)],
    responses=example(200, _TRAIL, "Every stored event of the aggregate, oldest first"),
)
async def audit_trail(
    aggregate_id: FromPath[UUID],
    principal: NamedDependency[Principal],
    gw: NamedDependency[Gateway],
    request: Request[Any, Any, Any],
) -> Response[Any]:
    """Full event history of any aggregate (task, order, voucher, account, dispute, …).

    ``?version=N`` or ``?as_of=ISO-8601`` (with a time zone) stop the history there and add the
    aggregate's ``state_at`` that point. 404 ``aggregate_not_found`` when every service
    answered and none knows it; 503 ``upstream_unavailable`` when none knows it but some
    service could not be asked; 400 for unknown or malformed query parameters.
    """
    return await _relay_the_one_that_knows(
        gw,
        principal,
        request,
        f"/internal/audit/{aggregate_id}",
        allowed={"version", "as_of"},
        answered={200, 400},
        not_found=("aggregate_not_found", f"no service knows aggregate {aggregate_id}"),
    )


_PROOF = {
    "aggregate_id": "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c",
    "version": 2,
    "notification_id": 41,
    "event_id": "0c9e2b1d-4f5a-5e3d-8c2b-7c6b1a0f9e8d",
    "stored_topic": "ring_task.domain:Task.PublishRequested",
    "state_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "leaf_index": 40,
    "leaf_hash": "5feceb66ffc86f38d952786c6d696c79c2dbc239dd4e91b46729d73a27fb57e9",
    "checkpoint": {
        "service": "task",
        "size": 64,
        "root": "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b",
        "signed_at": "2026-11-27T10:01:05.123456+00:00",
        "key": "MCowBQYDK2VwAyEA…",
        "signature": "base64…",
    },
    "path": ["d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35"],
}


@get(
    "/v1/admin/audit/proofs/{aggregate_id:uuid}",
    operation_id="GetInclusionProof",
    tags=["admin"],
    guards=[roles(ADMIN)],
    responses=example(200, _PROOF, "The event's leaf, a signed checkpoint and the audit path"),
)
async def inclusion_proof(
    aggregate_id: FromPath[UUID],
    principal: NamedDependency[Principal],
    gw: NamedDependency[Gateway],
    request: Request[Any, Any, Any],
) -> Response[Any]:
    """Proof that an event (``?version=N``, default the latest) is in its service's signed
    Merkle tree; check it against a checkpoint taken from ``ring.audit.checkpoints``
    (docs/audit-proofs.md). 409 ``not_yet_checkpointed`` while no checkpoint covers it yet;
    404 ``event_not_chained`` when no service has it in its tree."""
    return await _relay_the_one_that_knows(
        gw,
        principal,
        request,
        f"/internal/audit/proofs/{aggregate_id}",
        allowed={"version"},
        answered={200, 400, 409},
        not_found=("event_not_chained", f"no service has chained {aggregate_id}"),
    )


_TRANSACTION_TRAIL = {
    "id": "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c",
    "correlation_ids": ["b1d0c9e2-5a4f-4e3d-8c2b-1a0f9e8d7c6b"],
    "events": [
        {
            "service": "task",
            "aggregate_id": "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c",
            "name": "Task.PublishRequested",
            "topic": "ring_task.domain:Task.PublishRequested",
            "version": 2,
            "timestamp": "2026-11-27T10:01:00Z",
            "notification_id": 41,
            "correlation_id": "b1d0c9e2-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
            "causation_id": "0c9e2b1d-4f5a-4e3d-8c2b-7c6b1a0f9e8d",
            "state": {"at": "2026-11-27T10:01:00Z"},
        },
        {
            "service": "ledger",
            "aggregate_id": "3e2d1c0b-9a8f-4e7d-8c6b-5a4f3e2d1c0b",
            "name": "Escrow.Funded",
            "topic": "ring_ledger.domain.escrow:Escrow.Funded",
            "version": 1,
            "timestamp": "2026-11-27T10:01:00.2Z",
            "notification_id": 977,
            "correlation_id": "b1d0c9e2-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
            "causation_id": "task.events:41",
            "state": {"task_id": "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c", "slots": 2},
        },
    ],
}


@get(
    "/v1/admin/audit/trails/{trail_id:str}",
    operation_id="GetTransactionTrail",
    tags=["admin"],
    guards=[roles(ADMIN)],
    responses=example(200, _TRANSACTION_TRAIL, "Every event of the transaction, oldest first"),
)
async def transaction_trail(
    trail_id: FromPath[str],
    principal: NamedDependency[Principal],
    gw: NamedDependency[Gateway],
    request: Request[Any, Any, Any],
) -> Response[Any]:
    """Everything a task (or any aggregate, or one correlation id) caused in every service,
    oldest first; 404 ``trail_not_found`` when no service recorded anything under it."""
    refusal = _refuse_unknown(dict(request.query_params), set())
    if refusal is not None:
        return refusal

    async def ask(path: str, params: dict[str, str]) -> list[Any]:
        answers = await _ask_all(gw, principal, path, params)
        return [a.json() for a in answers if a is not None and a.status == 200]

    trail = await gather_trail(trail_id, ask)
    if trail is None:
        return error_response(404, "trail_not_found", f"nothing was recorded under {trail_id}")
    return Response(trail, media_type="application/json")


async def _relay_the_one_that_knows(
    gw: Gateway,
    principal: Principal,
    request: Request[Any, Any, Any],
    path: str,
    *,
    allowed: set[str],
    answered: set[int],
    not_found: tuple[str, str],
) -> Response[Any]:
    """Ask every service for ``path`` (with the query, once only ``allowed`` parameters are in
    it) and relay the answer of the one that knows the aggregate (a status in ``answered``):
    ids are UUIDs, so at most one does. When none does, 404 ``not_found`` (code, message) if
    every service said so, else 503 ``upstream_unavailable`` naming the ones not asked."""
    params = dict(request.query_params)
    refusal = _refuse_unknown(params, allowed)
    if refusal is not None:
        return refusal
    answers = await _ask_all(gw, principal, path, params)
    for answer in answers:
        if answer is not None and answer.status in answered:
            return relay(answer)
    missing = [
        name
        for name, answer in zip(sorted(gw.upstreams.base_urls), answers, strict=True)
        if answer is None or answer.status != 404
    ]
    if missing:
        return error_response(
            503,
            "upstream_unavailable",
            "nothing was found, but some services could not be asked; retry later",
            {"services": missing},
        )
    code, message = not_found
    return error_response(404, code, message, None)


async def _ask_all(
    gw: Gateway, principal: Principal, path: str, params: dict[str, str]
) -> list[UpstreamResponse | None]:
    async def ask(name: str) -> UpstreamResponse | None:
        try:
            return await gw.upstreams.call(name, "GET", path, actor=principal, params=params)
        except UpstreamUnavailable:
            return None

    return list(await asyncio.gather(*(ask(name) for name in sorted(gw.upstreams.base_urls))))


def _refuse_unknown(params: dict[str, str], allowed: set[str]) -> Response[Any] | None:
    unknown = sorted(set(params) - allowed)
    if not unknown:
        return None
    return error_response(
        400,
        "unknown_query_parameter",
        f"unknown query parameter(s): {', '.join(unknown)}",
        {"allowed": sorted(allowed)},
    )
