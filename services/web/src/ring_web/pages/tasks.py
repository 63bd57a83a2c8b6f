"""Tasks: Party A drafts, publishes (watching the funding), cancels, ranks candidates and admits
applicants; Party B browses the board with filters and recommendations and takes or applies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from litestar import get, post
from litestar.response import Redirect, Template

from ring_web.gateway import ApiError
from ring_web.money import InvalidAmount, parse_amount, task_total
from ring_web.pages.support import (
    PARTY_A,
    PARTY_B,
    AnyRequest,
    back,
    config,
    form_errors,
    gateway,
    problem,
    render,
    require,
    translator,
)

#: Reads (0.25 s apart) waiting for a new order to be readable before showing it.
READ_YOUR_WRITES_TRIES = 40
#: API field → form field of the task form.
TASK_FIELDS = {
    "title": "title",
    "description": "description",
    "requirements": "requirements",
    "acceptance_criteria": "acceptance_criteria",
    "deadline": "deadline",
    "commission_minor": "commission",
    "slots": "slots",
    "required_skills": "skills",
}


def skills_of(text: str) -> list[str]:
    """``"labeling, english"`` → ``["labeling", "english"]`` (a Chinese comma works too)."""
    return [skill.strip() for skill in text.replace("\uff0c", ",").split(",") if skill.strip()]


@get("/tasks")
async def my_tasks(request: AnyRequest, status: str = "") -> Template:
    """Party A's tasks, every status, newest first (or one status)."""
    me = require(request, PARTY_A)
    page = await gateway(request).call(
        "GET", "/v1/tasks", params={"owner_id": me["id"], "status": status, "limit": 50}
    )
    return render(request, "tasks.html", tasks=page["items"], status=status)


@get("/tasks/new", sync_to_thread=False)
def new_task(request: AnyRequest) -> Template:
    """The one-page task form, with the fee and the total to be held computed as you type."""
    require(request, PARTY_A)
    return _task_form(request, {"slots": "1", "currency": "CNY", "mode": "grab"}, {})


def _task_form(
    request: AnyRequest, form: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Template:
    fee_bps = config(request).fee_bps
    try:
        fee, total = task_total(
            parse_amount(form.get("commission", "")), int(form["slots"]), fee_bps
        )
    except (InvalidAmount, KeyError, ValueError):
        fee, total = 0, 0
    return render(
        request,
        "task_new.html",
        status_code=status,
        form=form,
        errors=errors,
        fee_bps=fee_bps,
        fee=fee,
        total=total,
    )


@get("/tasks/preview", sync_to_thread=False)
def fee_preview(request: AnyRequest, commission: str = "", slots: str = "") -> Template:
    """The fee and total to be held for the figures typed so far (htmx swaps it into the form;
    the task service fixes the real fee when the task is drafted)."""
    require(request, PARTY_A)
    try:
        fee, total = task_total(parse_amount(commission), int(slots), config(request).fee_bps)
    except (InvalidAmount, ValueError):
        fee, total = 0, 0
    return render(request, "_fee_preview.html", fee=fee, total=total)


@post("/tasks")
async def create_task(request: AnyRequest) -> Template | Redirect:
    """Draft the task; its page then shows the fee and total before publishing."""
    require(request, PARTY_A)
    t = translator(request)
    form = {k: str(v).strip() for k, v in dict(await request.form()).items()}
    errors: dict[str, str] = {}
    try:
        commission = parse_amount(form.get("commission", ""))
    except InvalidAmount:
        errors["commission"] = t("error_amount")
    try:
        slots = int(form.get("slots", ""))
        if not 1 <= slots <= 1000:
            raise ValueError(slots)
    except ValueError:
        errors["slots"] = t("error_slots")
    try:
        deadline = datetime.fromisoformat(form.get("deadline", "")).replace(tzinfo=UTC)
        if deadline <= datetime.now(UTC):
            errors["deadline"] = t("error_deadline_past")
    except ValueError:
        errors["deadline"] = t("error_deadline")
    if not form.get("title"):
        errors["title"] = t("error_required")
    if errors:
        return _task_form(request, form, errors, 400)
    body = {
        "title": form["title"],
        "description": form.get("description", ""),
        "requirements": form.get("requirements", ""),
        "acceptance_criteria": form.get("acceptance_criteria", ""),
        "deadline": deadline.isoformat(),
        "commission_minor": commission,
        "currency": form.get("currency") or "CNY",
        "slots": slots,
        "required_skills": skills_of(form.get("skills", "")),
        "approval_required": form.get("mode") == "approve",
    }
    try:
        created = await gateway(request).call("POST", "/v1/tasks", json=body, idempotent=True)
    except ApiError as error:
        return _task_form(request, form, form_errors(request, error, TASK_FIELDS), 400)
    return back(f"/tasks/{created['id']}", request, "flash_task_drafted")


@get("/tasks/{task_id:uuid}")
async def task_page(request: AnyRequest, task_id: UUID) -> Template:
    """The task as its owner or a provider sees it."""
    return await _task_page(request, task_id, {})


async def _task_page(
    request: AnyRequest, task_id: UUID, errors: dict[str, str], status: int = 200
) -> Template:
    me = require(request, PARTY_A, PARTY_B)
    api = gateway(request)
    task = await api.call("GET", f"/v1/tasks/{task_id}")
    owner = me["role"] == PARTY_A and task["owner_id"] == me["id"]
    orders: list[dict[str, Any]] = []
    candidates: list[dict[str, Any]] = []
    if owner:
        page = await api.call("GET", "/v1/orders", params={"task_id": str(task_id), "limit": 100})
        orders = page["items"]
        if task["status"] == "published":
            candidates = await _candidates(request, task_id)
    return render(
        request,
        "task.html",
        status_code=status,
        task=task,
        owner=owner,
        orders=orders,
        candidates=candidates,
        total=task["slots"] * (task["commission_minor"] + task["fee_minor"]),
        errors=errors,
        live_topics=[f"task:{task_id}"],
    )


async def _candidates(request: AnyRequest, task_id: UUID) -> list[dict[str, Any]]:
    """The best-ranked providers with their fit and public record (best effort: the ranking is
    an aid, the page works without it)."""
    try:
        ranked: list[dict[str, Any]] = await gateway(request).call(
            "GET", f"/v1/tasks/{task_id}/candidates", params={"limit": 5}
        )
    except ApiError:
        return []
    return ranked


async def _act(
    request: AnyRequest, task_id: UUID, method_path: str, done: str, body: Any = None
) -> Template | Redirect:
    try:
        await gateway(request).call("POST", method_path, json=body)
    except ApiError as error:
        return await _task_page(request, task_id, {"_action": problem(request, error)}, 400)
    return back(f"/tasks/{task_id}", request, done)


@post("/tasks/{task_id:uuid}/publish")
async def publish_task(request: AnyRequest, task_id: UUID) -> Template | Redirect:
    """Ask to publish: the ledger holds the money, then the task is on the board."""
    require(request, PARTY_A)
    return await _act(request, task_id, f"/v1/tasks/{task_id}/publish", "flash_publishing")


@post("/tasks/{task_id:uuid}/cancel")
async def cancel_task(request: AnyRequest, task_id: UUID) -> Template | Redirect:
    """Cancel the task; unused escrow goes back to the wallet."""
    require(request, PARTY_A)
    return await _act(request, task_id, f"/v1/tasks/{task_id}/cancel", "flash_task_cancelled")


@post("/tasks/{task_id:uuid}/orders")
async def take_task(request: AnyRequest, task_id: UUID) -> Template | Redirect:
    """Party B takes a slot (or applies, when the owner approves applicants)."""
    require(request, PARTY_B)
    try:
        order = await gateway(request).call("POST", f"/v1/tasks/{task_id}/orders", idempotent=True)
    except ApiError as error:
        return await _task_page(request, task_id, {"_action": problem(request, error)}, 400)
    await _until_readable(request, f"/v1/orders/{order['id']}")
    return back(f"/orders/{order['id']}", request, "flash_order_taken")


async def _until_readable(request: AnyRequest, path: str) -> None:
    """Wait (a few seconds at most) until the API serves what was just created: the order's
    read side catches up asynchronously, and the next page reads it (read your writes)."""
    api = gateway(request)
    for _ in range(READ_YOUR_WRITES_TRIES):
        try:
            await api.call("GET", path)
        except ApiError as error:
            if error.status != 404:
                return
            await asyncio.sleep(0.25)
        else:
            return


@post("/tasks/{task_id:uuid}/applications/{order_id:uuid}/{decision:str}")
async def decide_application(
    request: AnyRequest, task_id: UUID, order_id: UUID, decision: str
) -> Template | Redirect:
    """The owner admits or declines an applicant."""
    require(request, PARTY_A)
    if decision == "approve":
        return await _act(
            request, task_id, f"/v1/orders/{order_id}/approve", "flash_application_approved"
        )
    return await _act(
        request,
        task_id,
        f"/v1/orders/{order_id}/decline",
        "flash_application_declined",
        {"reason": ""},
    )


@get("/board")
async def board(
    request: AnyRequest,
    q: str = "",
    skill: str = "",
    min_commission: str = "",
) -> Template:
    """The task board with search, filters and the provider's recommendations."""
    require(request, PARTY_B)
    t = translator(request)
    api = gateway(request)
    errors: dict[str, str] = {}
    minimum = None
    if min_commission.strip():
        try:
            minimum = parse_amount(min_commission)
        except InvalidAmount:
            errors["min_commission"] = t("error_amount")
    params = {"q": q or None, "skill": skill or None, "min_commission": minimum, "limit": 30}
    page, recommended = await asyncio.gather(
        api.call("GET", "/v1/tasks", params=params), _recommendations(request)
    )
    return render(
        request,
        "board.html",
        tasks=page["items"],
        recommended=recommended,
        filters={"q": q, "skill": skill, "min_commission": min_commission},
        errors=errors,
    )


async def _recommendations(request: AnyRequest) -> list[dict[str, Any]]:
    """Open tasks ranked for this provider (empty until qualified)."""
    try:
        ranked: list[dict[str, Any]] = await gateway(request).call(
            "GET", "/v1/providers/me/recommendations", params={"limit": 5}
        )
    except ApiError:
        return []
    return ranked


TASK_HANDLERS = [
    my_tasks,
    new_task,
    fee_preview,
    create_task,
    task_page,
    publish_task,
    cancel_task,
    take_task,
    decide_application,
    board,
]
