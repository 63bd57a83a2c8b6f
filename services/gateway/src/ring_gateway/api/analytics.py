"""Analytics: figures read from the services' read models and stores, never computed here.

``GET /v1/analytics/me`` (Party A or B) and ``GET /v1/admin/analytics`` (admins) ask their
sources at once and put the answers side by side:

- task service ``GET /analytics/me`` / ``GET /internal/analytics``: tasks and orders by status
  and commission per currency, from the task board and orders-by-party read models;
- matching service ``GET /providers/{id}``: Party B's performance record (``null`` while the
  provider is unknown there, i.e. never submitted a qualification);
- ledger ``GET /wallets/{id}?currency=``: the caller's wallet; ``GET /internal/totals``: fee
  revenue, escrow held, wallets held, deposits and payouts per currency.

A source that cannot be reached, or answers 5xx, gives 503 ``upstream_unavailable`` (partial
figures would read as zeros); any other error answer of a source is relayed unchanged.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Parameter

from ring_gateway.api.support import ADMIN, A, B, Gateway, relay, roles
from ring_gateway.tokens import Principal
from ring_gateway.upstream import UpstreamResponse, UpstreamUnavailable

Currency = Annotated[
    str,
    Parameter(pattern="^[A-Z]{3}$", description="Currency of the wallet figures (ISO 4217)."),
]

_WALLET = {"currency": "CNY", "available_minor": 29_000, "reserved_minor": 21_000}
_COMMISSION = [{"currency": "CNY", "committed_minor": 20_000, "settled_minor": 30_000}]
_PARTY_A = {
    "role": "party_a",
    "currency": "CNY",
    "wallet": _WALLET,
    "tasks_by_status": {"draft": 1, "published": 2, "completed": 1},
    "orders_by_status": {"accepted": 1, "submitted": 1, "settled": 3},
    "commission": _COMMISSION,
}
_PARTY_B = {
    "role": "party_b",
    "currency": "CNY",
    "wallet": {"currency": "CNY", "available_minor": 30_000, "reserved_minor": 0},
    "orders_by_status": {"in_progress": 1, "settled": 3},
    "record": {
        "provider_id": "7e2d4c6b-8a9f-4b1c-9d0e-1f2a3b4c5d6e",
        "orders_taken": 4,
        "orders_completed": 3,
        "orders_expired": 0,
        "approvals": 3,
        "rejections": 1,
        "approval_rate": 0.75,
        "submitted": 3,
        "on_time": 3,
        "on_time_rate": 1.0,
        "disputes": 1,
        "disputes_lost": 0,
        "earnings": [{"currency": "CNY", "amount_minor": 30_000}],
        "average_submit_seconds": 5400.0,
    },
}
_PLATFORM = {
    "tasks_by_status": {"draft": 3, "funding": 1, "published": 12, "completed": 40},
    "orders_by_status": {"accepted": 5, "in_progress": 7, "submitted": 2, "settled": 120},
    "commission": [{"currency": "CNY", "committed_minor": 140_000, "settled_minor": 1_200_000}],
    "money": [
        {
            "currency": "CNY",
            "fee_revenue_minor": 60_000,
            "escrow_held_minor": 147_000,
            "wallets_held_minor": 350_000,
            "deposits_minor": 2_000_000,
            "payouts_paid_minor": 900_000,
            "payouts_pending_minor": 20_000,
        }
    ],
}


def _examples(description: str, **values: Any) -> dict[int, ResponseSpec]:
    return {
        200: ResponseSpec(
            data_container=dict[str, Any],
            generate_examples=False,
            description=description,
            examples=[Example(summary=name, value=value) for name, value in values.items()],
        )
    }


class _Refused(Exception):
    """A source answered with an error of its own, to be relayed to the caller."""

    def __init__(self, answer: UpstreamResponse) -> None:
        super().__init__(answer.status)
        self.answer = answer


def _figures(answer: UpstreamResponse, service: str) -> Any:
    """The JSON body of a 200 answer of ``service``.

    Raises:
        UpstreamUnavailable: the service answered 5xx.
        _Refused: any other status that is not 200.
    """
    if answer.status >= 500:
        raise UpstreamUnavailable(f"the {service} service is unavailable; retry later")
    if answer.status != 200:
        raise _Refused(answer)
    return answer.json()


@get(
    "/v1/analytics/me",
    operation_id="GetMyAnalytics",
    tags=["analytics"],
    guards=[roles(A, B)],
    responses=_examples("The caller's figures", party_a=_PARTY_A, party_b=_PARTY_B),
)
async def my_analytics(
    principal: NamedDependency[Principal],
    gw: NamedDependency[Gateway],
    currency: Currency = "CNY",
) -> Response[Any]:
    """The caller's figures: wallet in ``currency``, orders by status; Party A also its tasks
    by status and the commission on its tasks, Party B its performance record."""
    me, calls = principal.user_id, gw.upstreams.call
    asked = [
        calls("task", "GET", "/analytics/me", actor=principal),
        calls("ledger", "GET", f"/wallets/{me}", actor=principal, params={"currency": currency}),
    ]
    if principal.role is B:
        asked.append(calls("matching", "GET", f"/providers/{me}", actor=principal))
    answers = await asyncio.gather(*asked)
    try:
        tasks, wallet = _figures(answers[0], "task"), _figures(answers[1], "ledger")
        if principal.role is A:
            return Response(
                {
                    "role": str(principal.role),
                    "currency": currency,
                    "wallet": wallet,
                    "tasks_by_status": tasks["tasks_by_status"],
                    "orders_by_status": tasks["orders_as_owner_by_status"],
                    "commission": tasks["commission_as_owner"],
                }
            )
        profile = None if answers[2].status == 404 else _figures(answers[2], "matching")
    except _Refused as refused:
        return relay(refused.answer)
    return Response(
        {
            "role": str(principal.role),
            "currency": currency,
            "wallet": wallet,
            "orders_by_status": tasks["orders_as_provider_by_status"],
            "record": profile.get("record") if profile else None,
        }
    )


@get(
    "/v1/admin/analytics",
    operation_id="GetAnalytics",
    tags=["admin"],
    guards=[roles(ADMIN)],
    responses=_examples("Platform figures", platform=_PLATFORM),
)
async def admin_analytics(
    principal: NamedDependency[Principal], gw: NamedDependency[Gateway]
) -> Response[Any]:
    """Platform figures: tasks and orders by status, commission, and the ledger's money
    totals (fee revenue, escrow held, wallets held, deposits, payouts) per currency."""
    task_answer, ledger_answer = await asyncio.gather(
        gw.upstreams.call("task", "GET", "/internal/analytics", actor=principal),
        gw.upstreams.call("ledger", "GET", "/internal/totals", actor=principal),
    )
    try:
        tasks, money = _figures(task_answer, "task"), _figures(ledger_answer, "ledger")
    except _Refused as refused:
        return relay(refused.answer)
    return Response(
        {
            "tasks_by_status": tasks["tasks_by_status"],
            "orders_by_status": tasks["orders_by_status"],
            "commission": tasks["commission"],
            "money": money["currencies"],
        }
    )


ANALYTICS_HANDLERS = [my_analytics, admin_analytics]
