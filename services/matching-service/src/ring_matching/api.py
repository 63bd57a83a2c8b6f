"""Internal HTTP API of the matching service: thin controllers mapping requests to calls.

The gateway authenticates users and signs the acting user into ``X-Ring-Assertion`` (injected
as ``actor``). Admin decisions (verify, reject, suspend, reinstate) are checked for the admin
role by the gateway; here the acting admin is recorded with the decision.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from ring_contracts.decisions import ReasonRequest
from ring_contracts.providers import QualificationRequest
from ring_matching.application import Providers
from ring_matching.domain import Blocklist, Provider
from ring_matching.projections.board import BoardPage, BoardProjection, BoardQuery, BoardSort
from ring_matching.projections.performance import (
    PerformanceProjection,
    PerformanceView,
    PublicRecord,
)
from ring_matching.projections.verification import PendingProviderPage, VerificationQueue
from ring_matching.recommendations import Candidate, Matchmaker, Recommendation
from ring_runtime.http import Cursor, Limit, allow
from ring_runtime.identity import ADMIN, PARTY_A, PARTY_B, Actor


class Suspension(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An admin's suspension; the reason is optional."""

    reason: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class QualificationView(msgspec.Struct, frozen=True, kw_only=True):
    """The provider's latest qualification."""

    kind: str
    reference: str
    skills: list[str]
    submitted_at: datetime | None
    decided_by: UUID | None
    decision_reason: str


class ProviderView(msgspec.Struct, frozen=True, kw_only=True):
    """A provider: qualification and standing, plus the performance record when asked."""

    id: UUID
    verification: str
    suspended: bool
    may_take_orders: bool
    qualification: QualificationView
    registered_at: datetime
    version: int
    record: PerformanceView | None = None

    @classmethod
    def of(cls, provider: Provider, record: PerformanceView | None = None) -> ProviderView:
        """The view of ``provider``."""
        return cls(
            id=provider.id,
            verification=str(provider.verification),
            suspended=provider.suspended,
            may_take_orders=provider.may_take_orders,
            qualification=QualificationView(
                kind=provider.kind,
                reference=provider.reference,
                skills=list(provider.skills),
                submitted_at=provider.submitted_at,
                decided_by=provider.decided_by,
                decision_reason=provider.decision_reason,
            ),
            registered_at=provider.registered_at,
            version=provider.version,
            record=record,
        )


class PublicProvider(msgspec.Struct, frozen=True, kw_only=True):
    """A provider as other parties see it: skills, standing and the public record, without the
    qualification's reference, the reviewing admin or the earnings."""

    id: UUID
    verification: str
    suspended: bool
    may_take_orders: bool
    skills: list[str]
    registered_at: datetime
    record: PublicRecord | None = None

    @classmethod
    def of(cls, provider: Provider, record: PerformanceView | None = None) -> PublicProvider:
        """The public view of ``provider``."""
        return cls(
            id=provider.id,
            verification=str(provider.verification),
            suspended=provider.suspended,
            may_take_orders=provider.may_take_orders,
            skills=list(provider.skills),
            registered_at=provider.registered_at,
            record=record.public() if record is not None else None,
        )


class BlocklistView(msgspec.Struct, frozen=True, kw_only=True):
    """The providers an owner has blocked."""

    owner_id: UUID
    blocked: list[UUID]

    @classmethod
    def of(cls, blocklist: Blocklist) -> BlocklistView:
        """The view of ``blocklist``."""
        return cls(owner_id=blocklist.owner_id, blocked=sorted(blocklist.blocked, key=str))


class ProviderController(Controller):
    """Providers: qualification, admin decisions, profile, recommendations."""

    path = "/providers"
    tags = ["providers"]

    @post(
        "/{provider_id:uuid}/qualifications",
        status_code=HTTP_201_CREATED,
        operation_id="SubmitQualification",
        guards=[allow(PARTY_B)],
    )
    async def submit_qualification(
        self,
        actor: NamedDependency[UUID],
        provider_id: FromPath[UUID],
        data: JSONBody[QualificationRequest],
        providers: NamedDependency[Providers],
    ) -> ProviderView:
        """The acting provider hands in a qualification (registering on the first one)."""
        provider = await asyncio.to_thread(
            providers.submit_qualification,
            provider_id,
            actor,
            kind=data.kind,
            reference=data.reference,
            skills=data.skills,
        )
        return ProviderView.of(provider)

    @post(
        "/{provider_id:uuid}/verify",
        status_code=HTTP_200_OK,
        operation_id="VerifyProvider",
        guards=[allow(ADMIN)],
    )
    async def verify_provider(
        self,
        actor: NamedDependency[UUID],
        provider_id: FromPath[UUID],
        providers: NamedDependency[Providers],
    ) -> ProviderView:
        """An admin accepts the pending qualification."""
        return ProviderView.of(await asyncio.to_thread(providers.verify, provider_id, actor))

    @post(
        "/{provider_id:uuid}/reject",
        status_code=HTTP_200_OK,
        operation_id="RejectProvider",
        guards=[allow(ADMIN)],
    )
    async def reject_provider(
        self,
        actor: NamedDependency[UUID],
        provider_id: FromPath[UUID],
        data: JSONBody[ReasonRequest],
        providers: NamedDependency[Providers],
    ) -> ProviderView:
        """An admin refuses the pending qualification with a reason."""
        provider = await asyncio.to_thread(providers.reject, provider_id, actor, data.reason)
        return ProviderView.of(provider)

    @post(
        "/{provider_id:uuid}/suspend",
        status_code=HTTP_200_OK,
        operation_id="SuspendProvider",
        guards=[allow(ADMIN)],
    )
    async def suspend_provider(
        self,
        actor: NamedDependency[UUID],
        provider_id: FromPath[UUID],
        providers: NamedDependency[Providers],
        data: JSONBody[Suspension | None] = None,
    ) -> ProviderView:
        """An admin stops the provider from taking new orders."""
        reason = data.reason if data else ""
        provider = await asyncio.to_thread(providers.suspend, provider_id, actor, reason)
        return ProviderView.of(provider)

    @post(
        "/{provider_id:uuid}/reinstate",
        status_code=HTTP_200_OK,
        operation_id="ReinstateProvider",
        guards=[allow(ADMIN)],
    )
    async def reinstate_provider(
        self,
        actor: NamedDependency[UUID],
        provider_id: FromPath[UUID],
        providers: NamedDependency[Providers],
    ) -> ProviderView:
        """An admin lifts the suspension."""
        return ProviderView.of(await asyncio.to_thread(providers.reinstate, provider_id, actor))

    @get("/{provider_id:uuid}", operation_id="GetProvider")
    async def get_provider(
        self,
        caller: NamedDependency[Actor],
        provider_id: FromPath[UUID],
        providers: NamedDependency[Providers],
        performance: NamedDependency[PerformanceProjection],
    ) -> ProviderView | PublicProvider:
        """Qualification and standing (always current) with the performance record: the full
        view for the provider itself and admins, the public profile for anyone else."""

        def view() -> ProviderView | PublicProvider:
            provider = providers.get_provider(provider_id)
            record = performance.record(provider_id)
            if provider.full_record_visible_to(caller.user_id, admin=caller.role == ADMIN):
                return ProviderView.of(provider, record)
            return PublicProvider.of(provider, record)

        return await asyncio.to_thread(view)

    @get("/{provider_id:uuid}/recommendations", operation_id="ListRecommendations")
    async def list_recommendations(
        self,
        actor: NamedDependency[UUID],
        provider_id: FromPath[UUID],
        matchmaker: NamedDependency[Matchmaker],
        limit: Limit = 20,
    ) -> list[Recommendation]:
        """Open tasks ranked for the acting provider, best first."""
        now = datetime.now(UTC)
        return await asyncio.to_thread(matchmaker.recommend, provider_id, actor, now, limit)


class AdminProviderController(Controller):
    """The admins' verification queue."""

    path = "/admin/providers"
    tags = ["admin"]

    @get("/", operation_id="ListPendingProviders", guards=[allow(ADMIN)])
    async def list_pending_providers(
        self,
        verification_queue: NamedDependency[VerificationQueue],
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> PendingProviderPage:
        """Providers whose qualification waits for a decision, longest waiting first."""
        return await asyncio.to_thread(verification_queue.pending, cursor=cursor, limit=limit)


class BlocklistController(Controller):
    """Party A's blocks of providers from its own tasks."""

    path = "/owners/{owner_id:uuid}/blocks"
    tags = ["blocks"]

    @post(
        "/{provider_id:uuid}",
        status_code=HTTP_200_OK,
        operation_id="BlockProvider",
        guards=[allow(PARTY_A)],
    )
    async def block_provider(
        self,
        actor: NamedDependency[UUID],
        owner_id: FromPath[UUID],
        provider_id: FromPath[UUID],
        providers: NamedDependency[Providers],
    ) -> BlocklistView:
        """The acting owner blocks a provider (repeating it changes nothing)."""
        blocklist = await asyncio.to_thread(providers.block, owner_id, actor, provider_id)
        return BlocklistView.of(blocklist)

    @delete("/{provider_id:uuid}", operation_id="UnblockProvider", guards=[allow(PARTY_A)])
    async def unblock_provider(
        self,
        actor: NamedDependency[UUID],
        owner_id: FromPath[UUID],
        provider_id: FromPath[UUID],
        providers: NamedDependency[Providers],
    ) -> None:
        """The acting owner lifts its block (repeating it changes nothing)."""
        await asyncio.to_thread(providers.unblock, owner_id, actor, provider_id)


class BoardController(Controller):
    """The task board and ranked candidates of a task."""

    tags = ["board"]

    @get("/board", operation_id="ListBoard")
    async def list_board(
        self,
        board: NamedDependency[BoardProjection],
        status: FromQuery[str | None] = "published",
        skill: FromQuery[str | None] = None,
        min_commission: Annotated[int | None, Parameter(ge=0)] = None,
        currency: FromQuery[str | None] = None,
        deadline_after: FromQuery[datetime | None] = None,
        deadline_before: FromQuery[datetime | None] = None,
        owner_id: FromQuery[UUID | None] = None,
        open_only: FromQuery[bool] = True,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
        sort: FromQuery[BoardSort] = BoardSort.NEWEST,
        cursor: FromQuery[str | None] = None,
        limit: Limit = 20,
    ) -> BoardPage:
        """Tasks on the board, filtered and sorted, one page per call (eventually consistent)."""
        query = BoardQuery(
            status=status or None,
            skill=skill,
            min_commission=min_commission,
            currency=currency,
            deadline_after=deadline_after,
            deadline_before=deadline_before,
            owner_id=owner_id,
            open_only=open_only,
            q=q,
            sort=sort,
            cursor=cursor,
            limit=limit,
        )
        return await asyncio.to_thread(board.page, query)

    @get("/tasks/{task_id:uuid}/candidates", operation_id="ListCandidates")
    async def list_candidates(
        self,
        actor: NamedDependency[UUID],
        task_id: FromPath[UUID],
        matchmaker: NamedDependency[Matchmaker],
        limit: Limit = 20,
    ) -> list[Candidate]:
        """Providers ranked for the acting owner's task, best first."""
        now = datetime.now(UTC)
        return await asyncio.to_thread(matchmaker.candidates, task_id, actor, now, limit)
