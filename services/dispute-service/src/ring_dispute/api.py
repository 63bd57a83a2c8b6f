"""Internal HTTP API of the dispute service: thin controllers mapping requests to ``Disputes``.

The gateway authenticates users, checks the admin role for ``/admin`` routes and passes the
acting user in ``X-Ring-Assertion`` (injected here as ``actor``; recorded on every step).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from ring_contracts.disputes import (
    DisputeRequest,
    EvidenceRequest,
    ResolutionRequest,
    StatementRequest,
)
from ring_dispute.application import Disputes
from ring_dispute.domain import Dispute, OrderNotDisputable, OrderNotFound
from ring_dispute.projections import OrderStepView
from ring_dispute.queue import DisputePage, DisputeQueue
from ring_runtime.freshness import Freshness
from ring_runtime.http import Cursor, Limit, allow
from ring_runtime.identity import ADMIN, PARTY_A, PARTY_B


class Created(msgspec.Struct, frozen=True, kw_only=True):
    """A dispute was opened."""

    id: UUID
    status: str


class EvidenceView(msgspec.Struct, frozen=True, kw_only=True):
    """One piece of evidence."""

    added_by: UUID
    role: str
    statement: str
    sha256: str | None
    at: datetime


class DisputeView(msgspec.Struct, frozen=True, kw_only=True):
    """A case with both parties' evidence and the order's history (when known)."""

    id: UUID
    order_id: UUID
    task_id: UUID
    owner_id: UUID
    provider_id: UUID
    opened_by: UUID
    category: str
    reason: str
    status: str
    opened_at: datetime
    response_due: datetime
    response: str | None
    evidence: list[EvidenceView]
    arbitration_due: datetime | None
    escalated_automatically: bool
    overdue: bool
    outcome: str | None
    provider_share_percent: int | None
    resolved_by: UUID | None
    order_status: str | None
    order_history: list[OrderStepView]

    @classmethod
    def of(cls, dispute: Dispute, disputes: Disputes) -> DisputeView:
        """The view of ``dispute`` now (overdue from the service clock)."""
        order = disputes.order(dispute.order_id)
        return cls(
            id=dispute.id,
            order_id=dispute.order_id,
            task_id=dispute.task_id,
            owner_id=dispute.owner_id,
            provider_id=dispute.provider_id,
            opened_by=dispute.opened_by,
            category=dispute.category,
            reason=dispute.reason,
            status=str(dispute.status),
            opened_at=dispute.opened_at,
            response_due=dispute.response_due,
            response=dispute.response,
            evidence=[
                EvidenceView(
                    added_by=e.added_by,
                    role=dispute.role_of(e.added_by),
                    statement=e.statement,
                    sha256=e.sha256,
                    at=e.at,
                )
                for e in dispute.evidence
            ],
            arbitration_due=dispute.arbitration_due,
            escalated_automatically=dispute.escalated_automatically,
            overdue=dispute.is_overdue(disputes.clock.now()),
            outcome=dispute.outcome,
            provider_share_percent=dispute.provider_share_percent,
            resolved_by=dispute.resolved_by,
            order_status=order.status if order else None,
            order_history=order.history if order else [],
        )


class OrderDisputeController(Controller):
    """Opening a dispute about an order."""

    path = "/orders"
    tags = ["disputes"]

    @post(
        "/{order_id:uuid}/disputes",
        status_code=HTTP_201_CREATED,
        operation_id="OpenDispute",
        guards=[allow(PARTY_A, PARTY_B)],
    )
    async def create_dispute(
        self,
        actor: NamedDependency[UUID],
        order_id: FromPath[UUID],
        data: JSONBody[DisputeRequest],
        disputes: NamedDependency[Disputes],
        freshness: NamedDependency[Freshness],
    ) -> Created:
        """A party of the order complains; the other party must respond in time."""
        dispute_id = await freshness.judge(
            disputes.open_dispute,
            order_id,
            actor,
            data.category,
            data.reason,
            refusals=(OrderNotFound, OrderNotDisputable),
        )
        return Created(id=dispute_id, status="open")


class DisputeController(Controller):
    """A case as its parties see and work on it."""

    path = "/disputes"
    tags = ["disputes"]

    @get("/", operation_id="ListMyDisputes")
    async def list_my_disputes(
        self,
        actor: NamedDependency[UUID],
        queue: NamedDependency[DisputeQueue],
        disputes: NamedDependency[Disputes],
        status: Annotated[str | None, Parameter(max_length=40)] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> DisputePage:
        """Disputes about the actor's orders (as owner or provider), oldest first."""
        return await _listed(
            disputes,
            functools.partial(
                queue.list, status=status, party_id=actor, cursor=cursor, limit=limit
            ),
        )

    @get("/{dispute_id:uuid}", operation_id="GetDispute")
    async def get_dispute(
        self,
        actor: NamedDependency[UUID],
        dispute_id: FromPath[UUID],
        disputes: NamedDependency[Disputes],
    ) -> DisputeView:
        """The case with evidence and the order's history; parties only."""
        return await viewed(disputes, disputes.get_dispute_for, dispute_id, actor)

    @post(
        "/{dispute_id:uuid}/responses",
        status_code=HTTP_200_OK,
        operation_id="RespondDispute",
        guards=[allow(PARTY_A, PARTY_B)],
    )
    async def create_response(
        self,
        actor: NamedDependency[UUID],
        dispute_id: FromPath[UUID],
        data: JSONBody[StatementRequest],
        disputes: NamedDependency[Disputes],
    ) -> DisputeView:
        """The other party answers the complaint."""
        return await viewed(disputes, disputes.respond, dispute_id, actor, data.statement)

    @post(
        "/{dispute_id:uuid}/evidence",
        status_code=HTTP_200_OK,
        operation_id="AddEvidence",
        guards=[allow(PARTY_A, PARTY_B)],
    )
    async def create_evidence(
        self,
        actor: NamedDependency[UUID],
        dispute_id: FromPath[UUID],
        data: JSONBody[EvidenceRequest],
        disputes: NamedDependency[Disputes],
    ) -> DisputeView:
        """A party adds a statement (and optionally a file's SHA-256)."""
        return await viewed(
            disputes, disputes.add_evidence, dispute_id, actor, data.statement, data.sha256
        )

    @post(
        "/{dispute_id:uuid}/arbitration",
        status_code=HTTP_200_OK,
        operation_id="RequestArbitration",
        guards=[allow(PARTY_A, PARTY_B)],
    )
    async def request_arbitration(
        self,
        actor: NamedDependency[UUID],
        dispute_id: FromPath[UUID],
        disputes: NamedDependency[Disputes],
    ) -> DisputeView:
        """A party asks for arbitration once both sides have spoken."""
        return await viewed(disputes, disputes.request_arbitration, dispute_id, actor)

    @post(
        "/{dispute_id:uuid}/withdraw",
        status_code=HTTP_200_OK,
        operation_id="WithdrawDispute",
        guards=[allow(PARTY_A, PARTY_B)],
    )
    async def withdraw_dispute(
        self,
        actor: NamedDependency[UUID],
        dispute_id: FromPath[UUID],
        disputes: NamedDependency[Disputes],
    ) -> DisputeView:
        """The opener withdraws the dispute before it is resolved."""
        return await viewed(disputes, disputes.withdraw, dispute_id, actor)


class AdminDisputeController(Controller):
    """The arbitration queue and decisions (the gateway lets admins only)."""

    path = "/admin/disputes"
    tags = ["admin"]

    @get("/", operation_id="ListDisputes", guards=[allow(ADMIN)])
    async def list_disputes(
        self,
        queue: NamedDependency[DisputeQueue],
        disputes: NamedDependency[Disputes],
        status: Annotated[str | None, Parameter(max_length=40)] = None,
        overdue: FromQuery[bool | None] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> DisputePage:
        """The queue, oldest first, filtered by status and by the overdue flag."""
        return await _listed(
            disputes,
            functools.partial(
                queue.list, status=status, overdue=overdue, cursor=cursor, limit=limit
            ),
        )

    @get("/{dispute_id:uuid}", operation_id="GetDisputeAsAdmin", guards=[allow(ADMIN)])
    async def get_dispute(
        self, dispute_id: FromPath[UUID], disputes: NamedDependency[Disputes]
    ) -> DisputeView:
        """Any case, with both parties' evidence and the order's history."""
        return await viewed(disputes, disputes.get_dispute, dispute_id)

    @post(
        "/{dispute_id:uuid}/resolve",
        status_code=HTTP_200_OK,
        operation_id="ResolveDispute",
        guards=[allow(ADMIN)],
    )
    async def resolve_dispute(
        self,
        actor: NamedDependency[UUID],
        dispute_id: FromPath[UUID],
        data: JSONBody[ResolutionRequest],
        disputes: NamedDependency[Disputes],
    ) -> DisputeView:
        """Decide release / refund / split; the ledger executes it exactly once."""
        return await viewed(
            disputes, disputes.resolve, dispute_id, actor, data.outcome, data.provider_share_percent
        )


async def viewed(disputes: Disputes, command: Callable[..., Dispute], *args: object) -> DisputeView:
    """``command(*args)`` and the view of the dispute it returns, in one worker thread: the
    view reads the order directory, so it is built next to the load, not on the event loop."""
    return await asyncio.to_thread(lambda: DisputeView.of(command(*args), disputes))


async def _listed(disputes: Disputes, page: Callable[[], DisputePage]) -> DisputePage:
    """A page of the queue once the local projection caught up with this service's own
    decisions (read-your-writes), the wait and the read in one worker thread."""

    def caught_up_page() -> DisputePage:
        disputes.catch_up()
        return page()

    return await asyncio.to_thread(caught_up_page)
