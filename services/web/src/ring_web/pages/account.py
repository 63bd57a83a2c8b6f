"""Money and records of the signed-in party: wallet with statement, deposits (A) and payouts (B);
the provider's qualification and performance record; analytics with charts."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from uuid import UUID

from litestar import get, post
from litestar.response import Redirect, Template

from ring_web.charts import by_status, completion_times, line_chart, median, titled_bars
from ring_web.gateway import ApiError
from ring_web.money import InvalidAmount, format_money, parse_amount
from ring_web.pages.support import (
    PARTY_A,
    PARTY_B,
    AnyRequest,
    back,
    gateway,
    problem,
    render,
    require,
    translator,
)
from ring_web.pages.tasks import skills_of

CURRENCY = "CNY"
#: Payouts remembered in the session so their status can be shown (newest last).
PAYOUTS_KEPT = 5
#: Pages of 100 postings read for the statement and its balance chart.
STATEMENT_PAGES = 5
#: Pages of 100 paid orders read for the time-to-completion chart (the latest 500).
COMPLETED_PAGES = 5


@get("/wallet")
async def wallet_page(request: AnyRequest) -> Template:
    """Balances, the statement with its running balance, and the deposit or payout form."""
    return await _wallet_page(request, {})


async def _wallet_page(request: AnyRequest, errors: dict[str, str], status: int = 200) -> Template:
    me = require(request, PARTY_A, PARTY_B)
    api = gateway(request)
    wallet, postings = await asyncio.gather(
        api.call("GET", "/v1/wallet", params={"currency": CURRENCY}), _statement(request)
    )
    balance, points = 0, []
    for posting in postings:
        balance += posting["credit_minor"] - posting["debit_minor"]
        points.append((posting["occurred_at"], balance))
    payouts: list[dict[str, Any]] = []
    if me["role"] == PARTY_B:
        for payout_id in request.session.get("payouts", []):
            try:
                payouts.append(await api.call("GET", f"/v1/wallet/withdrawals/{payout_id}"))
            except ApiError:
                continue
    t = translator(request)
    return render(
        request,
        "wallet.html",
        status_code=status,
        wallet=wallet,
        postings=list(reversed(postings[-30:])),
        chart=line_chart(t("chart_balance"), points),
        payouts=list(reversed(payouts)),
        errors=errors,
        live_topics=["wallet"],
    )


async def _statement(request: AnyRequest) -> list[dict[str, Any]]:
    """The postings on the wallet, oldest first (the first :data:`STATEMENT_PAGES` pages)."""
    postings: list[dict[str, Any]] = []
    cursor = None
    for _ in range(STATEMENT_PAGES):
        page = await gateway(request).call(
            "GET",
            "/v1/wallet/statement",
            params={"currency": CURRENCY, "limit": 100, "cursor": cursor},
        )
        postings.extend(page["postings"])
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    return postings


async def _amount(request: AnyRequest) -> int | None:
    try:
        return parse_amount(str((await request.form()).get("amount", "")))
    except InvalidAmount:
        return None


@post("/wallet/deposits")
async def deposit(request: AnyRequest) -> Template | Redirect:
    """Party A puts money into the wallet (simulated payment provider in development)."""
    require(request, PARTY_A)
    amount = await _amount(request)
    if amount is None:
        return await _wallet_page(request, {"amount": translator(request)("error_amount")}, 400)
    try:
        await gateway(request).call(
            "POST",
            "/v1/wallet/deposits",
            json={"amount_minor": amount, "currency": CURRENCY},
            idempotent=True,
        )
    except ApiError as error:
        return await _wallet_page(request, {"amount": problem(request, error)}, 400)
    return back("/wallet", request, "flash_deposited")


@post("/wallet/withdrawals")
async def withdraw(request: AnyRequest) -> Template | Redirect:
    """Party B asks for a payout of available money."""
    require(request, PARTY_B)
    amount = await _amount(request)
    if amount is None:
        return await _wallet_page(request, {"amount": translator(request)("error_amount")}, 400)
    try:
        payout = await gateway(request).call(
            "POST",
            "/v1/wallet/withdrawals",
            json={"amount_minor": amount, "currency": CURRENCY},
            idempotent=True,
        )
    except ApiError as error:
        return await _wallet_page(request, {"amount": problem(request, error)}, 400)
    kept = [*request.session.get("payouts", []), payout["id"]]
    request.session["payouts"] = kept[-PAYOUTS_KEPT:]
    return back("/wallet", request, "flash_payout_requested")


@post("/wallet/withdrawals/{payout_id:uuid}/cancel")
async def cancel_payout(request: AnyRequest, payout_id: UUID) -> Template | Redirect:
    """Cancel a payout not yet paid."""
    require(request, PARTY_B)
    try:
        await gateway(request).call("POST", f"/v1/wallet/withdrawals/{payout_id}/cancel")
    except ApiError as error:
        return await _wallet_page(request, {"payouts": problem(request, error)}, 400)
    return back("/wallet", request, "flash_payout_cancelled")


@get("/profile")
async def profile_page(request: AnyRequest) -> Template:
    """The provider's verification status, qualification form and performance record."""
    return await _profile_page(request, {}, {})


async def _profile_page(
    request: AnyRequest, form: dict[str, str], errors: dict[str, str], status: int = 200
) -> Template:
    me = require(request, PARTY_B)
    api = gateway(request)
    try:
        provider = await api.call("GET", f"/v1/providers/{me['id']}")
    except ApiError as error:
        if error.status != 404:
            raise
        provider = None
    return render(
        request,
        "profile.html",
        status_code=status,
        provider=provider,
        form=form,
        errors=errors,
    )


@post("/profile/qualifications")
async def submit_qualification(request: AnyRequest) -> Template | Redirect:
    """Send a qualification for an administrator's review."""
    require(request, PARTY_B)
    t = translator(request)
    form = {k: str(v).strip() for k, v in dict(await request.form()).items()}
    errors = {
        name: t("error_required") for name in ("kind", "reference", "skills") if not form.get(name)
    }
    if not errors:
        body = {
            "kind": form["kind"],
            "reference": form["reference"],
            "skills": skills_of(form["skills"]),
        }
        try:
            await gateway(request).call("POST", "/v1/providers/me/qualifications", json=body)
        except ApiError as error:
            errors = {"_form": problem(request, error)}
        else:
            return back("/profile", request, "flash_qualification_sent")
    return await _profile_page(request, form, errors, 400)


@get("/analytics")
async def analytics(request: AnyRequest) -> Template:
    """The party's figures with charts: tasks and orders by status, spend or earnings, and how
    long orders took from being taken to being paid."""
    me = require(request, PARTY_A, PARTY_B)
    t = translator(request)
    figures, took = await asyncio.gather(
        gateway(request).call("GET", "/v1/analytics/me", params={"currency": CURRENCY}),
        _completion_seconds(request),
    )
    charts = [titled_bars(t, "chart_orders_by_status", by_status(t, figures["orders_by_status"]))]
    if me["role"] == PARTY_A:
        charts.insert(
            0, titled_bars(t, "chart_tasks_by_status", by_status(t, figures["tasks_by_status"]))
        )
        money = [
            (t(label), row[key] // 100)
            for row in figures["commission"]
            if row["currency"] == CURRENCY
            for label, key in (("committed", "committed_minor"), ("settled", "settled_minor"))
        ]
        charts.append(titled_bars(t, "chart_spend", money))
    charts.append(titled_bars(t, "chart_time_to_completion", completion_times(t, took)))
    record = figures.get("record") or {}
    if record:
        earned = [
            (row["currency"], row["amount_minor"] // 100) for row in record.get("earnings", [])
        ]
        charts.append(titled_bars(t, "chart_earnings", earned))
    return render(
        request,
        "analytics.html",
        figures=figures,
        record=record,
        median_completion=median(took),
        charts=[chart for chart in charts if chart[1]],
        money=format_money,
    )


async def _completion_seconds(request: AnyRequest) -> list[float]:
    """Seconds from taking to payment of the party's paid orders (the latest
    :data:`COMPLETED_PAGES` pages). A paid order changes no more, so its last update is the
    payment."""
    took: list[float] = []
    cursor = None
    for _ in range(COMPLETED_PAGES):
        page = await gateway(request).call(
            "GET", "/v1/orders", params={"status": "settled", "limit": 100, "cursor": cursor}
        )
        took.extend(
            (
                datetime.fromisoformat(o["updated_at"]) - datetime.fromisoformat(o["created_at"])
            ).total_seconds()
            for o in page["items"]
        )
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    return took


ACCOUNT_HANDLERS = [
    wallet_page,
    deposit,
    withdraw,
    cancel_payout,
    profile_page,
    submit_qualification,
    analytics,
]
