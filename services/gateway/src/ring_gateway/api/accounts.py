"""Wallets and providers: the route table rows of the ledger (the caller's money) and of the
matching service (qualifications and admins' decisions)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.params import Parameter, QueryParameter

from ring_contracts.decisions import ReasonRequest
from ring_contracts.money import MoneyRequest
from ring_contracts.providers import QualificationRequest
from ring_gateway.api.proxy import LONG_POLL, REQUIRED, Idempotency, Query, Route, page
from ring_gateway.api.support import ADMIN, A, B, authenticate, example
from ring_gateway.errors import RoleForbidden
from ring_runtime.http import Limit

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

_CURRENCY = Query("currency", Annotated[str, Parameter(pattern="^[A-Z]{3}$")], REQUIRED)


def own_profile_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: a provider reads only its own profile (Party A and admins read any).

    Raises:
        RoleForbidden: a provider asked for another provider's profile.
    """
    principal = authenticate(connection, connection.app.state.gateway)
    if principal.role is B and principal.user_id != connection.path_params["provider_id"]:
        raise RoleForbidden("a provider may read only its own profile")


ROUTES = [
    Route(
        "GET",
        "/v1/wallet",
        "GetWallet",
        "wallet",
        (A, B),
        "ledger",
        "/wallets/{me}",
        example(
            200, {"currency": "CNY", "available_minor": 50000, "reserved_minor": 21000}, "Wallet"
        ),
        query=(_CURRENCY, *LONG_POLL),
        doc="Available and reserved money of the caller in ``currency``; "
        "``?wait_for=available_minor:50000&timeout=10`` waits (long-poll) until it is that.",
    ),
    Route(
        "POST",
        "/v1/wallet/deposits",
        "CreateDeposit",
        "wallet",
        (A,),
        "ledger",
        "/deposits",
        example(
            201,
            {"id": _ID, "status": "confirmed", "amount_minor": 50000, "currency": "CNY"},
            "The deposit",
        ),
        body=MoneyRequest,
        idempotency=Idempotency.REQUIRED,
        doc="Party A funds its wallet (``Idempotency-Key`` required).",
    ),
    Route(
        "POST",
        "/v1/wallet/withdrawals",
        "CreateWithdrawal",
        "wallet",
        (B,),
        "ledger",
        "/withdrawals",
        example(
            201,
            {"id": _ID, "status": "requested", "amount_minor": 10000, "currency": "CNY"},
            "The payout request",
        ),
        body=MoneyRequest,
        idempotency=Idempotency.REQUIRED,
        doc="Party B requests a payout of available money (``Idempotency-Key`` required).",
    ),
    Route(
        "GET",
        "/v1/wallet/withdrawals/{withdrawal_id:uuid}",
        "GetWithdrawal",
        "wallet",
        (B,),
        "ledger",
        "/withdrawals/{withdrawal_id}",
        example(200, _WITHDRAWAL, "The payout"),
        doc="One of the caller's payouts: ``requested`` (until ``clears_at``), ``paid``, or "
        "``cancelled``.",
    ),
    Route(
        "POST",
        "/v1/wallet/withdrawals/{withdrawal_id:uuid}/cancel",
        "CancelWithdrawal",
        "wallet",
        (B,),
        "ledger",
        "/withdrawals/{withdrawal_id}/cancel",
        example(200, {**_WITHDRAWAL, "status": "cancelled"}, "The cancelled payout"),
        status=200,
        doc="The provider cancels a payout not yet paid; the amount is available again.",
    ),
    Route(
        "GET",
        "/v1/wallet/statement",
        "GetStatement",
        "wallet",
        (A, B),
        "ledger",
        "/statements/{me}",
        example(200, _STATEMENT, "One page of the statement"),
        query=(
            _CURRENCY,
            Query(
                "cursor", Annotated[int | None, Parameter(ge=0, le=2**63 - 1, description=_NEXT)]
            ),
            Query("limit", Annotated[Limit, QueryParameter()], 50),
        ),
        doc="Postings on the caller's available money in ``currency``, oldest first.",
    ),
    Route(
        "POST",
        "/v1/providers/me/qualifications",
        "SubmitQualification",
        "providers",
        (B,),
        "matching",
        "/providers/{me}/qualifications",
        example(201, {**_PROVIDER, "verification": "pending"}, "Pending review"),
        body=QualificationRequest,
        doc="Party B submits a qualification for an admin's review.",
    ),
    Route(
        "GET",
        "/v1/providers/me/recommendations",
        "ListRecommendations",
        "providers",
        (B,),
        "matching",
        "/providers/{me}/recommendations",
        example(200, [{"task_id": _ID, "score": 0.87}], "Ranked open tasks"),
        query=(Query("limit", Limit, 20),),
        doc="Open tasks ranked for the calling provider, best first.",
    ),
    Route(
        "GET",
        "/v1/providers/{provider_id:uuid}",
        "GetProvider",
        "providers",
        (),
        "matching",
        "/providers/{provider_id}",
        example(200, _PROVIDER, "Qualification and performance record"),
        guards=(own_profile_only,),
        doc="Qualification and performance record (Party A, admins, and the provider itself).",
    ),
    Route(
        "GET",
        "/v1/admin/providers",
        "ListPendingProviders",
        "admin",
        (ADMIN,),
        "matching",
        "/admin/providers",
        example(
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
        query=page(100),
        doc="Providers whose qualification waits for a decision, longest waiting first.",
    ),
    Route(
        "POST",
        "/v1/admin/providers/{provider_id:uuid}/verify",
        "VerifyProvider",
        "admin",
        (ADMIN,),
        "matching",
        "/providers/{provider_id}/verify",
        example(200, _PROVIDER, "The verified provider"),
        status=200,
        doc="Accept the provider's pending qualification.",
    ),
    Route(
        "POST",
        "/v1/admin/providers/{provider_id:uuid}/reject",
        "RejectProvider",
        "admin",
        (ADMIN,),
        "matching",
        "/providers/{provider_id}/reject",
        example(200, {**_PROVIDER, "verification": "rejected"}, "Rejected"),
        status=200,
        body=ReasonRequest,
        doc="Refuse the provider's pending qualification with a reason.",
    ),
]
