"""Disputes: parties answer, add evidence, ask for arbitration or withdraw; administrators work
the queue (SLA state, both sides' evidence, the order's history) and resolve it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template

from ring_web.gateway import ApiError, FilePart
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


@get("/disputes")
async def my_disputes(request: AnyRequest) -> Template:
    """Disputes about the caller's orders."""
    require(request, PARTY_A, PARTY_B)
    page = await gateway(request).call("GET", "/v1/disputes", params={"limit": 50})
    return render(request, "disputes.html", disputes=page["items"], admin=False)


@get("/disputes/{dispute_id:uuid}")
async def dispute_page(request: AnyRequest, dispute_id: UUID) -> Template:
    """The case as a party (or an administrator) sees it."""
    return await _dispute_page(request, dispute_id, {})


async def _dispute_page(
    request: AnyRequest, dispute_id: UUID, errors: dict[str, str], status: int = 200
) -> Template:
    me = require(request, PARTY_A, PARTY_B, ADMIN)
    admin = me["role"] == ADMIN
    path = f"/v1/admin/disputes/{dispute_id}" if admin else f"/v1/disputes/{dispute_id}"
    case = await gateway(request).call("GET", path)
    return render(
        request,
        "dispute.html",
        status_code=status,
        case=case,
        admin=admin,
        is_opener=case["opened_by"] == me["id"],
        errors=errors,
        live_topics=[] if admin else [f"dispute:{dispute_id}"],
    )


async def _act(
    request: AnyRequest,
    dispute_id: UUID,
    path: str,
    done: str,
    body: Any = None,
    files: list[FilePart] | None = None,
) -> Template | Redirect:
    try:
        if files:
            await gateway(request).call("POST", path, files=files, data=body)
        else:
            await gateway(request).call("POST", path, json=body)
    except ApiError as error:
        return await _dispute_page(request, dispute_id, {"_action": problem(request, error)}, 400)
    return back(f"/disputes/{dispute_id}", request, done)


#: The largest evidence file the dispute service keeps (checked here first, with a message).
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
#: The largest evidence form: the file and the statement around it.
EVIDENCE_BODY_BYTES = EVIDENCE_MAX_BYTES + 1024 * 1024


@post("/disputes/{dispute_id:uuid}/{step:str}", request_max_body_size=EVIDENCE_BODY_BYTES)
async def dispute_step(request: AnyRequest, dispute_id: UUID, step: str) -> Template | Redirect:
    """A party's step: ``responses`` and ``evidence`` (a statement, and for evidence perhaps a
    file), ``arbitration``, ``withdraw``."""
    require(request, PARTY_A, PARTY_B)
    path = f"/v1/disputes/{dispute_id}/{step}"
    if step in ("responses", "evidence"):
        t = translator(request)
        form = await request.form()
        statement = str(form.get("statement", "")).strip()
        if not statement:
            errors = {"_action": t("error_statement_required")}
            return await _dispute_page(request, dispute_id, errors, 400)
        upload = form.get("file") if step == "evidence" else None
        if isinstance(upload, UploadFile) and upload.filename:
            content = await upload.read()
            if len(content) > EVIDENCE_MAX_BYTES:
                message = t("error_file_too_large").format(
                    name=upload.filename, mb=EVIDENCE_MAX_BYTES // (1024 * 1024)
                )
                return await _dispute_page(request, dispute_id, {"_action": message}, 400)
            part: FilePart = ("file", (upload.filename, content, upload.content_type))
            body = {"statement": statement}
            return await _act(request, dispute_id, path, "flash_statement_added", body, [part])
        return await _act(
            request, dispute_id, path, "flash_statement_added", {"statement": statement}
        )
    if step in ("arbitration", "withdraw"):
        return await _act(request, dispute_id, path, f"flash_dispute_{step}")
    return back(f"/disputes/{dispute_id}", request, "error_unknown_action")


@get("/disputes/{dispute_id:uuid}/files/{sha256:str}")
async def evidence_file(request: AnyRequest, dispute_id: UUID, sha256: str) -> Response[bytes]:
    """A file that is evidence of the case, always as a download (never shown or run here)."""
    require(request, PARTY_A, PARTY_B, ADMIN)
    found = await gateway(request).download(f"/v1/disputes/{dispute_id}/files/{sha256}")
    return Response(
        found.content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="evidence-{sha256[:12]}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )


@get("/admin/disputes")
async def dispute_queue(request: AnyRequest, status: str = "", overdue: str = "") -> Template:
    """The arbitration queue, oldest first, with each case's SLA state."""
    require(request, ADMIN)
    params: dict[str, Any] = {"status": status or None, "limit": 100}
    if overdue:
        params["overdue"] = "true"
    page = await gateway(request).call("GET", "/v1/admin/disputes", params=params)
    return render(
        request,
        "disputes.html",
        disputes=page["items"],
        admin=True,
        status=status,
        overdue=overdue,
        live_topics=[],
    )


@post("/admin/disputes/{dispute_id:uuid}/resolve")
async def resolve(request: AnyRequest, dispute_id: UUID) -> Template | Redirect:
    """Decide release, refund or split (the provider's share in percent)."""
    require(request, ADMIN)
    form = await request.form()
    outcome = str(form.get("outcome", ""))
    body: dict[str, Any] = {"outcome": outcome}
    if outcome == "split":
        try:
            body["provider_share_percent"] = int(str(form.get("share", "")))
        except ValueError:
            errors = {"_action": translator(request)("error_share")}
            return await _dispute_page(request, dispute_id, errors, 400)
    return await _act(
        request, dispute_id, f"/v1/admin/disputes/{dispute_id}/resolve", "flash_resolved", body
    )


DISPUTE_HANDLERS = [my_disputes, dispute_page, dispute_step, evidence_file, dispute_queue, resolve]
