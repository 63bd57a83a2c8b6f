"""Disputes: the route table rows of the dispute service (parties open and argue a case, admins
work the arbitration queue and decide), and evidence, which is JSON or an upload.

The gateway checks roles only; whether the caller is a party of the order or of the dispute is
decided by the dispute service on the gateway's actor assertion (a stranger gets its 404 unchanged).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, Parameter, QueryParameter
from litestar.status_codes import HTTP_200_OK

from ring_contracts.disputes import (
    DisputeRequest,
    EvidenceRequest,
    ResolutionRequest,
    StatementRequest,
)
from ring_gateway.api.proxy import Query, Route, page
from ring_gateway.api.support import (
    ADMIN,
    A,
    B,
    Gateway,
    example,
    relay,
    roles,
)
from ring_gateway.tokens import Principal

#: Largest evidence upload accepted by the gateway (the dispute service enforces its own limit).
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024 + 64 * 1024

_ID = "3a9e0c1d-2b4f-4e6a-8c7d-5f1e2d3c4b5a"
_ORDER = "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c"
_A = "0b7c8f1e-5a51-4c3e-8f0e-3d1f0b8f7a10"
_B = "7e2d4c6b-8a9f-4b1c-9d0e-1f2a3b4c5d6e"
_SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
DISPUTE_EXAMPLE: dict[str, Any] = {
    "id": _ID,
    "order_id": _ORDER,
    "task_id": _ORDER,
    "owner_id": _A,
    "provider_id": _B,
    "opened_by": _B,
    "category": "unfair_rejection",
    "reason": "The labels meet the acceptance criteria.",
    "status": "open",
    "opened_at": "2026-11-27T10:00:00Z",
    "response_due": "2026-12-02T10:00:00Z",
    "response": None,
    "evidence": [],
    "arbitration_due": None,
    "escalated_automatically": False,
    "overdue": False,
    "outcome": None,
    "provider_share_percent": None,
    "resolved_by": None,
    "order_status": "disputed",
    "order_history": [{"status": "disputed", "at": "2026-11-27T10:00:00Z"}],
}
_EVIDENCE = {
    "added_by": _B,
    "role": "provider",
    "statement": "Screenshot of the accepted batch",
    "sha256": _SHA,
    "at": "2026-11-27T11:00:00Z",
}
_QUEUE_ENTRY = {
    key: DISPUTE_EXAMPLE[key]
    for key in (
        "id",
        "order_id",
        "task_id",
        "owner_id",
        "provider_id",
        "opened_by",
        "category",
        "opened_at",
        "response_due",
    )
} | {"status": "arbitration", "arbitration_due": "2026-12-05T10:00:00Z", "overdue": True}


def _as(status: str, **changes: Any) -> dict[str, Any]:
    return {**DISPUTE_EXAMPLE, "status": status, **changes}


_STATUS = Query("status", Annotated[str | None, Parameter(max_length=40)])

ROUTES = [
    Route(
        "POST",
        "/v1/orders/{order_id:uuid}/disputes",
        "OpenDispute",
        "disputes",
        (A, B),
        "dispute",
        "/orders/{order_id}/disputes",
        example(201, {"id": _ID, "status": "open"}, "The dispute"),
        body=DisputeRequest,
        doc="A party of the order complains about submitted or rejected work.",
    ),
    Route(
        "GET",
        "/v1/disputes",
        "ListMyDisputes",
        "disputes",
        (A, B),
        "dispute",
        "/disputes",
        example(200, {"items": [_QUEUE_ENTRY], "next_cursor": None}, "Disputes about my orders"),
        query=(_STATUS, *page(20)),
        doc="Disputes about the caller's orders (as task owner or provider), oldest first.",
    ),
    Route(
        "GET",
        "/v1/disputes/{dispute_id:uuid}",
        "GetDispute",
        "disputes",
        (A, B, ADMIN),
        "dispute",
        "/disputes/{dispute_id}",
        example(200, DISPUTE_EXAMPLE, "The case"),
        admin_view=True,
        doc="The case with both parties' evidence and the order's history (parties, admins).",
    ),
    Route(
        "POST",
        "/v1/disputes/{dispute_id:uuid}/responses",
        "RespondToDispute",
        "disputes",
        (A, B),
        "dispute",
        "/disputes/{dispute_id}/responses",
        example(200, _as("responded", response="The labels miss half the cats."), "Case"),
        status=200,
        body=StatementRequest,
        summary="Respond",
        doc="The other party answers the complaint, once.",
    ),
    Route(
        "GET",
        "/v1/disputes/{dispute_id:uuid}/files/{sha256:str}",
        "GetEvidenceFile",
        "disputes",
        (A, B, ADMIN),
        "dispute",
        "/disputes/{dispute_id}/files/{sha256}",
        example(200, {"binary": "…"}, "The file (application/octet-stream)"),
        admin_view=True,
        doc="Download a file that is evidence of the case (parties, admins).",
    ),
    Route(
        "POST",
        "/v1/disputes/{dispute_id:uuid}/arbitration",
        "RequestArbitration",
        "disputes",
        (A, B),
        "dispute",
        "/disputes/{dispute_id}/arbitration",
        example(200, _as("arbitration", arbitration_due="2026-12-01T10:00:00Z"), "Case"),
        status=200,
        doc="A party asks for arbitration once both sides have spoken.",
    ),
    Route(
        "POST",
        "/v1/disputes/{dispute_id:uuid}/withdraw",
        "WithdrawDispute",
        "disputes",
        (A, B),
        "dispute",
        "/disputes/{dispute_id}/withdraw",
        example(200, _as("withdrawn"), "The withdrawn case"),
        status=200,
        summary="Withdraw",
        doc="The opener withdraws the dispute before it is resolved.",
    ),
    Route(
        "GET",
        "/v1/admin/disputes",
        "ListDisputes",
        "admin",
        (ADMIN,),
        "dispute",
        "/admin/disputes",
        example(200, {"items": [_QUEUE_ENTRY], "next_cursor": None}, "The queue, oldest first"),
        query=(_STATUS, Query("overdue", Annotated[bool | None, QueryParameter()]), *page(100)),
        doc="The arbitration queue, oldest first, filtered by ``status`` and the ``overdue`` flag.",
    ),
    Route(
        "GET",
        "/v1/admin/disputes/{dispute_id:uuid}",
        "GetDisputeAsAdmin",
        "admin",
        (ADMIN,),
        "dispute",
        "/admin/disputes/{dispute_id}",
        example(200, DISPUTE_EXAMPLE, "The case"),
        summary="GetDispute",
        doc="Any case, with both parties' evidence and the order's history.",
    ),
    Route(
        "POST",
        "/v1/admin/disputes/{dispute_id:uuid}/resolve",
        "ResolveDispute",
        "admin",
        (ADMIN,),
        "dispute",
        "/admin/disputes/{dispute_id}/resolve",
        example(
            200,
            _as("resolved", outcome="split", provider_share_percent=60, resolved_by=_A),
            "The resolved case; the ledger executes it",
        ),
        status=200,
        body=ResolutionRequest,
        doc="Decide ``release``, ``refund`` or ``split``; the ledger moves the money once.",
    ),
]


@post(
    "/v1/disputes/{dispute_id:uuid}/evidence",
    status_code=HTTP_200_OK,
    operation_id="AddEvidence",
    tags=["disputes"],
    guards=[roles(A, B)],
    request_max_body_size=MAX_EVIDENCE_BYTES,
    responses={
        **example(200, _as("open", evidence=[_EVIDENCE]), "A statement was added"),
        **example(201, _as("open", evidence=[_EVIDENCE]), "A file was uploaded"),
    },
)
async def add_evidence(
    request: Request[Any, Any, Any],
    dispute_id: FromPath[UUID],
    principal: NamedDependency[Principal],
    gw: NamedDependency[Gateway],
) -> Response[bytes]:
    """A party adds evidence: JSON ``{statement, sha256?}``, or multipart ``file`` +
    ``statement`` to upload a file (stored under its SHA-256; answered 201)."""
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        path = f"/disputes/{dispute_id}/evidence/files"
        answer = await gw.upstreams.call(
            "dispute",
            "POST",
            path,
            actor=principal,
            content=await request.body(),
            headers={"content-type": content_type},
        )
        return relay(answer)
    try:
        data = msgspec.json.decode(await request.body(), type=EvidenceRequest)
    except msgspec.DecodeError as error:
        raise ValidationException(f"invalid evidence: {error}") from None
    path = f"/disputes/{dispute_id}/evidence"
    json = msgspec.to_builtins(data)
    return relay(await gw.upstreams.call("dispute", "POST", path, actor=principal, json=json))
