"""Disputes: parties open and argue a case, admins work the arbitration queue and decide.

The gateway checks roles only; whether the caller is a party of the order or of the dispute is
decided by the dispute service on the gateway's actor assertion (a stranger gets its 404 unchanged).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from ring_contracts.disputes import (
    DisputeRequest,
    EvidenceRequest,
    ResolutionRequest,
    StatementRequest,
)
from ring_gateway.api.support import (
    ADMIN,
    A,
    B,
    ContentAddress,
    Gateway,
    collection,
    example,
    forward,
    forward_body,
    require,
)
from ring_gateway.tokens import Principal
from ring_runtime.http import Cursor, Limit

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


class OrderDisputeController(Controller):
    """Opening a dispute about an order."""

    path = "/v1/orders"
    tags = ["disputes"]

    @post(
        "/{order_id:uuid}/disputes",
        status_code=HTTP_201_CREATED,
        operation_id="OpenDispute",
        responses=example(201, {"id": _ID, "status": "open"}, "The dispute"),
    )
    async def open_dispute(
        self,
        order_id: FromPath[UUID],
        data: JSONBody[DisputeRequest],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """A party of the order complains about submitted or rejected work."""
        require(principal, A, B)
        return await forward(
            gw, principal, "dispute", "POST", f"/orders/{order_id}/disputes", data=data
        )


class DisputeController(Controller):
    """A case as its parties (and admins, read-only) see it."""

    path = "/v1/disputes"
    tags = ["disputes"]

    @get(
        "/",
        operation_id="ListMyDisputes",
        responses=example(
            200, {"items": [_QUEUE_ENTRY], "next_cursor": None}, "Disputes about my orders"
        ),
    )
    async def list_my_disputes(
        self,
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        status: Annotated[str | None, Parameter(max_length=40)] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> Response[bytes]:
        """Disputes about the caller's orders (as task owner or provider), oldest first; pass
        ``next_cursor`` as ``cursor`` for the next page."""
        require(principal, A, B)
        params = {"status": status, "cursor": cursor, "limit": limit}
        return await forward(gw, principal, "dispute", "GET", "/disputes", params=params)

    @get(
        "/{dispute_id:uuid}",
        operation_id="GetDispute",
        responses=example(200, DISPUTE_EXAMPLE, "The case"),
    )
    async def get_dispute(
        self,
        dispute_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """The case with both parties' evidence and the order's history (parties, admins)."""
        require(principal, A, B, ADMIN)
        path = f"{collection(principal, 'disputes')}/{dispute_id}"
        return await forward(gw, principal, "dispute", "GET", path)

    @post(
        "/{dispute_id:uuid}/responses",
        status_code=HTTP_200_OK,
        operation_id="RespondToDispute",
        responses=example(200, _as("responded", response="The labels miss half the cats."), "Case"),
    )
    async def respond(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[StatementRequest],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """The other party answers the complaint, once."""
        require(principal, A, B)
        return await forward(
            gw, principal, "dispute", "POST", f"/disputes/{dispute_id}/responses", data=data
        )

    @post(
        "/{dispute_id:uuid}/evidence",
        status_code=HTTP_200_OK,
        operation_id="AddEvidence",
        request_max_body_size=MAX_EVIDENCE_BYTES,
        responses={
            **example(200, _as("open", evidence=[_EVIDENCE]), "A statement was added"),
            **example(201, _as("open", evidence=[_EVIDENCE]), "A file was uploaded"),
        },
    )
    async def add_evidence(
        self,
        request: Request[Any, Any, Any],
        dispute_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """A party adds evidence: JSON ``{statement, sha256?}``, or multipart ``file`` +
        ``statement`` to upload a file (stored under its SHA-256; answered 201)."""
        require(principal, A, B)
        content_type = request.headers.get("content-type", "")
        if content_type.lower().startswith("multipart/form-data"):
            path = f"/disputes/{dispute_id}/evidence/files"
            return await forward_body(gw, principal, request, "dispute", path)
        try:
            data = msgspec.json.decode(await request.body(), type=EvidenceRequest)
        except msgspec.DecodeError as error:
            raise ValidationException(f"invalid evidence: {error}") from None
        return await forward(
            gw, principal, "dispute", "POST", f"/disputes/{dispute_id}/evidence", data=data
        )

    @get(
        "/{dispute_id:uuid}/files/{sha256:str}",
        operation_id="GetEvidenceFile",
        responses=example(200, {"binary": "…"}, "The file (application/octet-stream)"),
    )
    async def get_evidence_file(
        self,
        dispute_id: FromPath[UUID],
        sha256: FromPath[ContentAddress],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """Download a file that is evidence of the case (parties, admins)."""
        require(principal, A, B, ADMIN)
        prefix = collection(principal, "disputes")
        return await forward(
            gw, principal, "dispute", "GET", f"{prefix}/{dispute_id}/files/{sha256}"
        )

    @post(
        "/{dispute_id:uuid}/arbitration",
        status_code=HTTP_200_OK,
        operation_id="RequestArbitration",
        responses=example(200, _as("arbitration", arbitration_due="2026-12-01T10:00:00Z"), "Case"),
    )
    async def request_arbitration(
        self,
        dispute_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """A party asks for arbitration once both sides have spoken."""
        require(principal, A, B)
        return await forward(
            gw, principal, "dispute", "POST", f"/disputes/{dispute_id}/arbitration"
        )

    @post(
        "/{dispute_id:uuid}/withdraw",
        status_code=HTTP_200_OK,
        operation_id="WithdrawDispute",
        responses=example(200, _as("withdrawn"), "The withdrawn case"),
    )
    async def withdraw(
        self,
        dispute_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """The opener withdraws the dispute before it is resolved."""
        require(principal, A, B)
        return await forward(gw, principal, "dispute", "POST", f"/disputes/{dispute_id}/withdraw")


class AdminDisputeController(Controller):
    """The arbitration queue and decisions (admins)."""

    path = "/v1/admin/disputes"
    tags = ["admin"]

    @get(
        "/",
        operation_id="ListDisputes",
        responses=example(
            200, {"items": [_QUEUE_ENTRY], "next_cursor": None}, "The queue, oldest first"
        ),
    )
    async def list_disputes(
        self,
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        status: Annotated[str | None, Parameter(max_length=40)] = None,
        overdue: FromQuery[bool | None] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> Response[bytes]:
        """The arbitration queue, oldest first, filtered by ``status`` and the ``overdue`` flag;
        pass ``next_cursor`` as ``cursor`` for the next page."""
        require(principal, ADMIN)
        params: dict[str, Any] = {"status": status, "cursor": cursor, "limit": limit}
        if overdue is not None:
            params["overdue"] = "true" if overdue else "false"
        return await forward(gw, principal, "dispute", "GET", "/admin/disputes", params=params)

    @get(
        "/{dispute_id:uuid}",
        operation_id="GetDisputeAsAdmin",
        responses=example(200, DISPUTE_EXAMPLE, "The case"),
    )
    async def get_dispute(
        self,
        dispute_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """Any case, with both parties' evidence and the order's history."""
        require(principal, ADMIN)
        return await forward(gw, principal, "dispute", "GET", f"/admin/disputes/{dispute_id}")

    @post(
        "/{dispute_id:uuid}/resolve",
        status_code=HTTP_200_OK,
        operation_id="ResolveDispute",
        responses=example(
            200,
            _as("resolved", outcome="split", provider_share_percent=60, resolved_by=_A),
            "The resolved case; the ledger executes it",
        ),
    )
    async def resolve_dispute(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[ResolutionRequest],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """Decide ``release``, ``refund`` or ``split``; the ledger moves the money once."""
        require(principal, ADMIN)
        return await forward(
            gw, principal, "dispute", "POST", f"/admin/disputes/{dispute_id}/resolve", data=data
        )
