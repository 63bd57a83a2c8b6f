"""Orders as both parties see them: live progress and history, messages, vouchers (upload by B;
review by A with file preview and the duplicate flags), and opening a dispute."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from litestar import Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template

from ring_web.gateway import ApiError, FilePart
from ring_web.pages.support import (
    PARTY_A,
    PARTY_B,
    AnyRequest,
    back,
    config,
    gateway,
    problem,
    render,
    require,
    translator,
)

#: File types shown inline in the review (the rest are offered as downloads).
PREVIEWABLE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
#: Dispute categories of the API, in the order offered.
CATEGORIES = ("quality", "not_delivered", "unfair_rejection", "fraud", "other")


@get("/orders")
async def my_orders(request: AnyRequest, status: str = "") -> Template:
    """The caller's orders (as owner or provider), newest first."""
    require(request, PARTY_A, PARTY_B)
    page = await gateway(request).call(
        "GET", "/v1/orders", params={"status": status or None, "limit": 50}
    )
    return render(request, "orders.html", orders=page["items"], status=status)


@get("/orders/{order_id:uuid}")
async def order_page(request: AnyRequest, order_id: UUID) -> Template:
    """Status, history, progress, messages and vouchers of one order."""
    return await _order_page(request, order_id, {})


async def _order_page(
    request: AnyRequest, order_id: UUID, errors: dict[str, str], status: int = 200
) -> Template:
    me = require(request, PARTY_A, PARTY_B)
    api = gateway(request)
    order, vouchers, messages = await asyncio.gather(
        api.call("GET", f"/v1/orders/{order_id}"),
        _vouchers(request, order_id),
        api.call("GET", f"/v1/orders/{order_id}/messages", params={"limit": 100}),
    )
    task = await api.call("GET", f"/v1/tasks/{order['task_id']}")
    progress = [step for step in order["history"] if step["status"] == "in_progress"]
    web = config(request)
    return render(
        request,
        "order.html",
        status_code=status,
        order=order,
        task=task,
        vouchers=vouchers,
        messages=messages["items"],
        is_owner=me["role"] == PARTY_A,
        progress=progress[-1] if progress else None,
        previewable=PREVIEWABLE,
        categories=CATEGORIES,
        max_file_bytes=web.max_file_bytes,
        max_files=web.max_files,
        errors=errors,
        live_topics=[f"order:{order_id}"],
    )


async def _vouchers(request: AnyRequest, order_id: UUID) -> list[dict[str, Any]]:
    """The order's vouchers; none while the voucher service has not heard of the new order yet
    (it learns about orders from the task service's events, a moment later)."""
    try:
        page = await gateway(request).call(
            "GET", f"/v1/orders/{order_id}/vouchers", params={"limit": 50}
        )
    except ApiError as error:
        if error.status == 404:
            return []
        raise
    items: list[dict[str, Any]] = page["items"]
    return items


async def _act(
    request: AnyRequest,
    order_id: UUID,
    path: str,
    done: str,
    slot: str,
    body: Any = None,
) -> Template | Redirect:
    """POST ``path``; on refusal show the order again with the message at ``slot``."""
    try:
        await gateway(request).call("POST", path, json=body)
    except ApiError as error:
        return await _order_page(request, order_id, {slot: problem(request, error)}, 400)
    return back(f"/orders/{order_id}", request, done)


async def _field(request: AnyRequest, name: str) -> str:
    return str((await request.form()).get(name, "")).strip()


@post("/orders/{order_id:uuid}/progress")
async def report_progress(request: AnyRequest, order_id: UUID) -> Template | Redirect:
    """The provider reports how far the work is."""
    require(request, PARTY_B)
    t = translator(request)
    try:
        percent = int(await _field(request, "percent"))
        if not 0 <= percent <= 100:
            raise ValueError(percent)
    except ValueError:
        return await _order_page(request, order_id, {"percent": t("error_percent")}, 400)
    body = {"percent": percent, "note": await _field(request, "note")}
    return await _act(
        request, order_id, f"/v1/orders/{order_id}/progress", "flash_progress", "percent", body
    )


@post("/orders/{order_id:uuid}/messages")
async def post_message(request: AnyRequest, order_id: UUID) -> Template | Redirect:
    """Write to the other party of the order."""
    require(request, PARTY_A, PARTY_B)
    text = await _field(request, "body")
    if not text:
        errors = {"body": translator(request)("error_required")}
        return await _order_page(request, order_id, errors, 400)
    return await _act(
        request,
        order_id,
        f"/v1/orders/{order_id}/messages",
        "flash_message",
        "body",
        {"body": text},
    )


@post("/orders/{order_id:uuid}/vouchers", request_max_body_size=110 * 1024 * 1024)
async def submit_voucher(request: AnyRequest, order_id: UUID) -> Template | Redirect:
    """Upload proof of completion: several files and a note, checked here first."""
    require(request, PARTY_B)
    t = translator(request)
    web = config(request)
    form = await request.form()
    uploads = [f for f in form.getall("files") if isinstance(f, UploadFile) and f.filename]
    problems = []
    if not uploads:
        problems.append(t("error_no_files"))
    if len(uploads) > web.max_files:
        problems.append(t("error_too_many_files").format(n=web.max_files))
    parts: list[FilePart] = []
    for upload in uploads:
        content = await upload.read()
        if len(content) > web.max_file_bytes:
            problems.append(
                t("error_file_too_large").format(
                    name=upload.filename, mb=web.max_file_bytes // (1024 * 1024)
                )
            )
        parts.append(("files", (upload.filename, content, upload.content_type)))
    if problems:
        return await _order_page(request, order_id, {"files": " ".join(problems)}, 400)
    note = str(form.get("note", "")).strip()
    try:
        await gateway(request).call(
            "POST", f"/v1/orders/{order_id}/vouchers", files=parts, data={"note": note}
        )
    except ApiError as error:
        return await _order_page(request, order_id, {"files": problem(request, error)}, 400)
    return back(f"/orders/{order_id}", request, "flash_voucher_submitted")


@post("/orders/{order_id:uuid}/vouchers/{voucher_id:uuid}/approve")
async def approve_voucher(
    request: AnyRequest, order_id: UUID, voucher_id: UUID
) -> Template | Redirect:
    """One click: the work is accepted and the commission is paid."""
    require(request, PARTY_A)
    return await _act(
        request,
        order_id,
        f"/v1/vouchers/{voucher_id}/approve",
        "flash_voucher_approved",
        f"voucher-{voucher_id}",
    )


@post("/orders/{order_id:uuid}/vouchers/{voucher_id:uuid}/reject")
async def reject_voucher(
    request: AnyRequest, order_id: UUID, voucher_id: UUID
) -> Template | Redirect:
    """Send the work back with a reason; the provider may resubmit."""
    require(request, PARTY_A)
    reason = await _field(request, "reason")
    if not reason:
        errors = {f"voucher-{voucher_id}": translator(request)("error_reason_required")}
        return await _order_page(request, order_id, errors, 400)
    return await _act(
        request,
        order_id,
        f"/v1/vouchers/{voucher_id}/reject",
        "flash_voucher_rejected",
        f"voucher-{voucher_id}",
        {"reason": reason},
    )


@get("/vouchers/{voucher_id:uuid}/files/{sha256:str}")
async def voucher_file(request: AnyRequest, voucher_id: UUID, sha256: str) -> Response[bytes]:
    """A voucher's file, for preview or download (sniffed type from the API; never executed)."""
    require(request, PARTY_A, PARTY_B, "admin")
    found = await gateway(request).download(f"/v1/vouchers/{voucher_id}/files/{sha256}")
    inline = found.content_type in PREVIEWABLE
    return Response(
        found.content,
        media_type=found.content_type if inline else "application/octet-stream",
        headers={
            "Content-Disposition": "inline" if inline else f'attachment; filename="{sha256[:12]}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )


@post("/orders/{order_id:uuid}/disputes")
async def open_dispute(request: AnyRequest, order_id: UUID) -> Template | Redirect:
    """Complain about the order's work; the case page follows it."""
    require(request, PARTY_A, PARTY_B)
    reason = await _field(request, "reason")
    category = await _field(request, "category")
    if not reason:
        errors = {"dispute": translator(request)("error_reason_required")}
        return await _order_page(request, order_id, errors, 400)
    try:
        case = await gateway(request).call(
            "POST",
            f"/v1/orders/{order_id}/disputes",
            json={"reason": reason, "category": category if category in CATEGORIES else "other"},
        )
    except ApiError as error:
        return await _order_page(request, order_id, {"dispute": problem(request, error)}, 400)
    return back(f"/disputes/{case['id']}", request, "flash_dispute_opened")


ORDER_HANDLERS = [
    my_orders,
    order_page,
    report_progress,
    post_message,
    submit_voucher,
    approve_voucher,
    reject_voucher,
    voucher_file,
    open_dispute,
]
