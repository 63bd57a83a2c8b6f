"""The audit trail: the full stored event history of any aggregate, for admins.

Every internal service answers ``GET /internal/audit/{id}`` from its own event store
(:mod:`ring_runtime.audit`); aggregate ids are UUIDs, so at most one service knows an id. The
gateway asks them all at once and relays the one that knows it. The gateway's own store (users,
with password hashes and encrypted personal data) is deliberately not exposed here.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from ring_gateway.api.support import ADMIN, Gateway, example, relay, require
from ring_gateway.tokens import Principal
from ring_gateway.upstream import UpstreamResponse, UpstreamUnavailable
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
    responses=example(200, _TRAIL, "Every stored event of the aggregate, oldest first"),
)
async def audit_trail(
    aggregate_id: FromPath[UUID],
    principal: NamedDependency[Principal],
    gw: NamedDependency[Gateway],
) -> Response[Any]:
    """Full event history of any aggregate (task, order, voucher, account, dispute, …).

    404 ``aggregate_not_found`` when every service answered and none knows it; 503
    ``upstream_unavailable`` when none knows it but some service could not be asked.
    """
    require(principal, ADMIN)
    names = sorted(gw.upstreams.base_urls)

    async def ask(name: str) -> UpstreamResponse | None:
        try:
            return await gw.upstreams.call(
                name, "GET", f"/internal/audit/{aggregate_id}", actor=principal
            )
        except UpstreamUnavailable:
            return None

    answers = await asyncio.gather(*(ask(name) for name in names))
    for answer in answers:
        if answer is not None and answer.status == 200:
            return relay(answer)
    missing = [
        name
        for name, answer in zip(names, answers, strict=True)
        if answer is None or answer.status != 404
    ]
    if missing:
        return error_response(
            503,
            "upstream_unavailable",
            "the aggregate was not found, but some services could not be asked; retry later",
            {"services": missing},
        )
    return error_response(
        404, "aggregate_not_found", f"no service knows aggregate {aggregate_id}", None
    )
