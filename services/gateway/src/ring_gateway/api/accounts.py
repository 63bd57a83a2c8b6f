"""Wallets and providers: money of the caller, qualifications and admin decisions."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from ring_gateway.api.marketplace import IdempotencyKey, Limit
from ring_gateway.api.schemas import MoneyRequest, QualificationRequest, ReasonRequest
from ring_gateway.api.support import ADMIN, A, B, Gateway, example, idempotent, relay, require
from ring_gateway.errors import RoleForbidden
from ring_gateway.tokens import Principal

_ID = "0b7c8f1e-5a51-4c3e-8f0e-3d1f0b8f7a10"
_PROVIDER = {
    "id": _ID,
    "verification": "verified",
    "suspended": False,
    "may_take_orders": True,
    "qualification": {"kind": "license", "reference": "LIC-42", "skills": ["labeling"]},
}


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
    ) -> Response[bytes]:
        """Available and reserved money of the caller in ``currency``."""
        require(principal, A, B)
        return relay(
            await gw.upstreams.call(
                "ledger",
                "GET",
                f"/wallets/{principal.user_id}",
                actor=principal.user_id,
                params={"currency": currency},
            )
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
        data: MoneyRequest,
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Party A funds its wallet (``Idempotency-Key`` required)."""
        require(principal, A)
        return await idempotent(
            request,
            gw,
            principal,
            idempotency_key,
            lambda: gw.upstreams.call(
                "ledger",
                "POST",
                "/deposits",
                actor=principal.user_id,
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
        data: MoneyRequest,
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Party B requests a payout of available money (``Idempotency-Key`` required)."""
        require(principal, B)
        return await idempotent(
            request,
            gw,
            principal,
            idempotency_key,
            lambda: gw.upstreams.call(
                "ledger",
                "POST",
                "/withdrawals",
                actor=principal.user_id,
                json=msgspec.to_builtins(data),
                headers={"Idempotency-Key": f"{principal.user_id}:{idempotency_key}"},
            ),
            required=True,
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
        data: QualificationRequest,
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """Party B submits a qualification for an admin's review."""
        require(principal, B)
        return relay(
            await gw.upstreams.call(
                "matching",
                "POST",
                f"/providers/{principal.user_id}/qualifications",
                actor=principal.user_id,
                json=msgspec.to_builtins(data),
            )
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
        return relay(
            await gw.upstreams.call(
                "matching",
                "GET",
                f"/providers/{principal.user_id}/recommendations",
                actor=principal.user_id,
                params={"limit": limit},
            )
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
        return relay(
            await gw.upstreams.call(
                "matching", "GET", f"/providers/{provider_id}", actor=principal.user_id
            )
        )


class AdminProviderController(Controller):
    """Admins decide on qualifications."""

    path = "/v1/admin/providers"
    tags = ["admin"]

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
        return relay(
            await gw.upstreams.call(
                "matching", "POST", f"/providers/{provider_id}/verify", actor=principal.user_id
            )
        )

    @post(
        "/{provider_id:uuid}/reject",
        status_code=HTTP_200_OK,
        operation_id="RejectProvider",
        responses=example(200, {**_PROVIDER, "verification": "rejected"}, "Rejected"),
    )
    async def reject_provider(
        self,
        provider_id: FromPath[UUID],
        data: ReasonRequest,
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """Refuse the provider's pending qualification with a reason."""
        require(principal, ADMIN)
        return relay(
            await gw.upstreams.call(
                "matching",
                "POST",
                f"/providers/{provider_id}/reject",
                actor=principal.user_id,
                json=msgspec.to_builtins(data),
            )
        )
