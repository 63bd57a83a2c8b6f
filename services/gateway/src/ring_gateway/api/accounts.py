"""Wallets and providers: money of the caller, qualifications and admin decisions."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from ring_contracts.decisions import ReasonRequest
from ring_contracts.money import MoneyRequest
from ring_contracts.providers import QualificationRequest
from ring_gateway.api.marketplace import RequiredIdempotencyKey
from ring_gateway.api.support import (
    ADMIN,
    A,
    B,
    Gateway,
    example,
    forward,
    idempotent,
    require,
    require_currency,
)
from ring_gateway.errors import RoleForbidden
from ring_gateway.tokens import Principal
from ring_runtime.http import Cursor, Limit
from ring_runtime.long_poll import MAX_WAIT_SECONDS, WaitFor, WaitTimeout

_ID = "0b7c8f1e-5a51-4c3e-8f0e-3d1f0b8f7a10"
_PROVIDER = {
    "id": _ID,
    "verification": "verified",
    "suspended": False,
    "may_take_orders": True,
    "qualification": {"kind": "license", "reference": "LIC-42", "skills": ["labeling"]},
}
_WITHDRAWAL = {
    "id": _ID,
    "party_id": _ID,
    "amount_minor": 10000,
    "currency": "CNY",
    "status": "requested",
    "clears_at": "2026-11-29T08:00:00Z",
}
_STATEMENT = {
    "party_id": _ID,
    "currency": "CNY",
    "postings": [
        {
            "sequence": 2,
            "transfer_id": "deposit:0b7c8f1e",
            "code": "deposit",
            "debit_minor": 0,
            "credit_minor": 50000,
            "pending_debit_minor": 0,
            "pending_credit_minor": 0,
            "occurred_at": "2026-11-27T08:00:00Z",
        }
    ],
    "next_cursor": None,
}


_NEXT = "`next_cursor` of the previous page; omit for the first"


class WalletController(Controller):
    """The caller's own wallet: balances, deposits (A), withdrawals (B)."""

    path = "/v1/wallet"
    tags = ["wallet"]

    @get(
        "/",
        operation_id="GetWallet",
        responses=example(
            200, {"currency": "CNY", "available_minor": 50000, "reserved_minor": 21000}, "Wallet"
        ),
    )
    async def get_wallet(
        self,
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        currency: Annotated[str, Parameter(pattern="^[A-Z]{3}$")],
        wait_for: WaitFor = None,
        wait_timeout: WaitTimeout = MAX_WAIT_SECONDS,
    ) -> Response[bytes]:
        """Available and reserved money of the caller in ``currency``.

        ``?wait_for=available_minor:50000&timeout=10`` waits (long-poll) until the balance is
        that, instead of polling."""
        require(principal, A, B)
        params = {"currency": currency}
        if wait_for:
            params |= {"wait_for": wait_for, "timeout": str(wait_timeout)}
        return await forward(
            gw, principal, "ledger", "GET", f"/wallets/{principal.user_id}", params=params
        )

    @post(
        "/deposits",
        status_code=HTTP_201_CREATED,
        operation_id="CreateDeposit",
        responses=example(
            201,
            {"id": _ID, "status": "confirmed", "amount_minor": 50000, "currency": "CNY"},
            "The deposit",
        ),
    )
    async def create_deposit(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[MoneyRequest],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        idempotency_key: RequiredIdempotencyKey = None,
    ) -> Response[bytes]:
        """Party A funds its wallet (``Idempotency-Key`` required)."""
        require(principal, A)
        require_currency(gw, data.currency)
        return await idempotent(
            request,
            gw,
            principal,
            idempotency_key,
            lambda: gw.upstreams.call(
                "ledger",
                "POST",
                "/deposits",
                actor=principal,
                json=msgspec.to_builtins(data),
                headers={"Idempotency-Key": f"{principal.user_id}:{idempotency_key}"},
            ),
            required=True,
        )

    @post(
        "/withdrawals",
        status_code=HTTP_201_CREATED,
        operation_id="CreateWithdrawal",
        responses=example(
            201,
            {"id": _ID, "status": "requested", "amount_minor": 10000, "currency": "CNY"},
            "The payout request",
        ),
    )
    async def create_withdrawal(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[MoneyRequest],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        idempotency_key: RequiredIdempotencyKey = None,
    ) -> Response[bytes]:
        """Party B requests a payout of available money (``Idempotency-Key`` required)."""
        require(principal, B)
        require_currency(gw, data.currency)
        return await idempotent(
            request,
            gw,
            principal,
            idempotency_key,
            lambda: gw.upstreams.call(
                "ledger",
                "POST",
                "/withdrawals",
                actor=principal,
                json=msgspec.to_builtins(data),
                headers={"Idempotency-Key": f"{principal.user_id}:{idempotency_key}"},
            ),
            required=True,
        )

    @get(
        "/withdrawals/{withdrawal_id:uuid}",
        operation_id="GetWithdrawal",
        responses=example(200, _WITHDRAWAL, "The payout"),
    )
    async def get_withdrawal(
        self,
        withdrawal_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """One of the caller's payouts: ``requested`` (until ``clears_at``), ``paid``, or
        ``cancelled``."""
        require(principal, B)
        return await forward(gw, principal, "ledger", "GET", f"/withdrawals/{withdrawal_id}")

    @post(
        "/withdrawals/{withdrawal_id:uuid}/cancel",
        status_code=HTTP_200_OK,
        operation_id="CancelWithdrawal",
        responses=example(200, {**_WITHDRAWAL, "status": "cancelled"}, "The cancelled payout"),
    )
    async def cancel_withdrawal(
        self,
        withdrawal_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """The provider cancels a payout not yet paid; the amount is available again."""
        require(principal, B)
        return await forward(
            gw, principal, "ledger", "POST", f"/withdrawals/{withdrawal_id}/cancel"
        )

    @get(
        "/statement",
        operation_id="GetStatement",
        responses=example(200, _STATEMENT, "One page of the statement"),
    )
    async def get_statement(
        self,
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        currency: Annotated[str, Parameter(pattern="^[A-Z]{3}$")],
        cursor: Annotated[int | None, Parameter(ge=0, le=2**63 - 1, description=_NEXT)] = None,
        limit: FromQuery[Limit] = 50,
    ) -> Response[bytes]:
        """Postings on the caller's available money in ``currency``, oldest first; pass
        ``next_cursor`` as ``cursor`` for the next page."""
        require(principal, A, B)
        return await forward(
            gw,
            principal,
            "ledger",
            "GET",
            f"/statements/{principal.user_id}",
            params={"currency": currency, "cursor": cursor, "limit": limit},
        )


class ProviderController(Controller):
    """Provider profiles and the caller's own qualification."""

    path = "/v1/providers"
    tags = ["providers"]

    @post(
        "/me/qualifications",
        status_code=HTTP_201_CREATED,
        operation_id="SubmitQualification",
        responses=example(201, {**_PROVIDER, "verification": "pending"}, "Pending review"),
    )
    async def submit_qualification(
        self,
        data: JSONBody[QualificationRequest],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """Party B submits a qualification for an admin's review."""
        require(principal, B)
        return await forward(
            gw,
            principal,
            "matching",
            "POST",
            f"/providers/{principal.user_id}/qualifications",
            data=data,
        )

    @get(
        "/me/recommendations",
        operation_id="ListRecommendations",
        responses=example(200, [{"task_id": _ID, "score": 0.87}], "Ranked open tasks"),
    )
    async def list_recommendations(
        self, principal: NamedDependency[Principal], gw: NamedDependency[Gateway], limit: Limit = 20
    ) -> Response[bytes]:
        """Open tasks ranked for the calling provider, best first."""
        require(principal, B)
        return await forward(
            gw,
            principal,
            "matching",
            "GET",
            f"/providers/{principal.user_id}/recommendations",
            params={"limit": limit},
        )

    @get(
        "/{provider_id:uuid}",
        operation_id="GetProvider",
        responses=example(200, _PROVIDER, "Qualification and performance record"),
    )
    async def get_provider(
        self,
        provider_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """Qualification and performance record (Party A, admins, and the provider itself)."""
        if principal.role is B and principal.user_id != provider_id:
            raise RoleForbidden("a provider may read only its own profile")
        return await forward(gw, principal, "matching", "GET", f"/providers/{provider_id}")


class AdminProviderController(Controller):
    """Admins decide on qualifications."""

    path = "/v1/admin/providers"
    tags = ["admin"]

    @get(
        "/",
        operation_id="ListPendingProviders",
        responses=example(
            200,
            {
                "items": [
                    {
                        "id": _ID,
                        "kind": "license",
                        "reference": "LIC-42",
                        "skills": ["labeling"],
                        "submitted_at": "2026-11-27T08:00:00Z",
                    }
                ],
                "next_cursor": None,
            },
            "The verification queue, longest waiting first",
        ),
    )
    async def list_pending_providers(
        self,
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> Response[bytes]:
        """Providers whose qualification waits for a decision, longest waiting first; pass
        ``next_cursor`` as ``cursor`` for the next page."""
        require(principal, ADMIN)
        params = {"cursor": cursor, "limit": limit}
        return await forward(gw, principal, "matching", "GET", "/admin/providers", params=params)

    @post(
        "/{provider_id:uuid}/verify",
        status_code=HTTP_200_OK,
        operation_id="VerifyProvider",
        responses=example(200, _PROVIDER, "The verified provider"),
    )
    async def verify_provider(
        self,
        provider_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """Accept the provider's pending qualification."""
        require(principal, ADMIN)
        return await forward(gw, principal, "matching", "POST", f"/providers/{provider_id}/verify")

    @post(
        "/{provider_id:uuid}/reject",
        status_code=HTTP_200_OK,
        operation_id="RejectProvider",
        responses=example(200, {**_PROVIDER, "verification": "rejected"}, "Rejected"),
    )
    async def reject_provider(
        self,
        provider_id: FromPath[UUID],
        data: JSONBody[ReasonRequest],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """Refuse the provider's pending qualification with a reason."""
        require(principal, ADMIN)
        return await forward(
            gw, principal, "matching", "POST", f"/providers/{provider_id}/reject", data=data
        )
