"""Administrators: provider verification, the audit trail of any object, platform analytics;
and the live-update stream every signed-in page listens to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

from litestar import get, post
from litestar.response import Redirect, ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from ring_web.charts import by_status, titled_bars
from ring_web.gateway import ApiError, SignedOut
from ring_web.live import ChangeFeed, valid_topics
from ring_web.money import format_money
from ring_web.pages.support import (
    ADMIN,
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


@get("/admin/providers")
async def providers(request: AnyRequest, provider_id: str = "", cursor: str = "") -> Template:
    """The verification queue (longest waiting first, a page at a time) and the provider being
    reviewed: picked from the queue, or looked up by id (from a dispute or an order)."""
    return await _providers(request, provider_id.strip(), {}, cursor=cursor)


async def _providers(
    request: AnyRequest,
    provider_id: str,
    errors: dict[str, str],
    status: int = 200,
    cursor: str = "",
) -> Template:
    require(request, ADMIN)
    provider = None
    try:
        queue = await gateway(request).call(
            "GET", "/v1/admin/providers", params={"cursor": cursor or None}
        )
    except ApiError as error:
        queue = {"items": [], "next_cursor": None}
        errors = {**errors, "_queue": problem(request, error)}
        status = 400 if error.status < 500 else error.status
    if provider_id:
        try:
            provider = await gateway(request).call("GET", f"/v1/providers/{UUID(provider_id)}")
        except ValueError:
            errors = {**errors, "provider_id": translator(request)("error_id")}
            status = 400
        except ApiError as error:
            errors = {**errors, "provider_id": problem(request, error)}
            status = 400 if error.status < 500 else error.status
    return render(
        request,
        "admin_providers.html",
        status_code=status,
        provider=provider,
        provider_id=provider_id,
        queue=queue,
        errors=errors,
    )


@post("/admin/providers/{provider_id:uuid}/{decision:str}")
async def decide_provider(
    request: AnyRequest, provider_id: UUID, decision: str
) -> Template | Redirect:
    """Verify the qualification, or reject it with a reason."""
    require(request, ADMIN)
    body = None
    if decision == "reject":
        reason = str((await request.form()).get("reason", "")).strip()
        if not reason:
            errors = {"_action": translator(request)("error_reason_required")}
            return await _providers(request, str(provider_id), errors, 400)
        body = {"reason": reason}
    elif decision != "verify":
        return back(f"/admin/providers?provider_id={provider_id}", request, "error_unknown_action")
    try:
        await gateway(request).call(
            "POST", f"/v1/admin/providers/{provider_id}/{decision}", json=body
        )
    except ApiError as error:
        return await _providers(
            request, str(provider_id), {"_action": problem(request, error)}, 400
        )
    return back(
        f"/admin/providers?provider_id={provider_id}", request, f"flash_provider_{decision}"
    )


@get("/admin/audit")
async def audit(request: AnyRequest, aggregate_id: str = "") -> Template:
    """Every stored event of a task, order, voucher, account or dispute, oldest first."""
    require(request, ADMIN)
    trail, errors, status = None, {}, 200
    if aggregate_id.strip():
        try:
            trail = await gateway(request).call(
                "GET", f"/v1/admin/audit/{UUID(aggregate_id.strip())}"
            )
        except ValueError:
            errors, status = {"aggregate_id": translator(request)("error_id")}, 400
        except ApiError as error:
            errors, status = {"aggregate_id": problem(request, error)}, 404
    return render(
        request,
        "admin_audit.html",
        status_code=status,
        trail=trail,
        aggregate_id=aggregate_id,
        errors=errors,
    )


@get("/admin/analytics")
async def platform_analytics(request: AnyRequest) -> Template:
    """Platform figures with charts."""
    require(request, ADMIN)
    t = translator(request)
    figures = await gateway(request).call("GET", "/v1/admin/analytics")
    charts = [
        titled_bars(t, "chart_tasks_by_status", by_status(t, figures["tasks_by_status"])),
        titled_bars(t, "chart_orders_by_status", by_status(t, figures["orders_by_status"])),
    ]
    return render(
        request,
        "admin_analytics.html",
        figures=figures,
        charts=[chart for chart in charts if chart[1]],
        money=format_money,
    )


@get("/live")
async def live(request: AnyRequest, topic: list[str] | None = None) -> ServerSentEvent:
    """Server-Sent Events: ``change`` with the topic whenever the objects behind it change."""
    require(request, PARTY_A, PARTY_B, ADMIN)
    feed: ChangeFeed = request.app.state.change_feed
    api = gateway(request, may_refresh=False)
    topics = valid_topics(topic or [])

    async def events() -> AsyncIterator[ServerSentEventMessage]:
        try:
            async for changed in feed.changes(api, topics):
                yield ServerSentEventMessage(event="change", data=changed)
        except SignedOut:
            yield ServerSentEventMessage(event="signed-out", data="")

    return ServerSentEvent(events(), retry_duration=3000)


ADMIN_HANDLERS = [providers, decide_provider, audit, platform_analytics, live]
