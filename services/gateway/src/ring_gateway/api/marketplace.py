"""Tasks, orders and vouchers of an order: the route table rows of the task, matching and voucher
services, and taking a slot (screened for self-dealing first).

Object-level checks (owner of the task, party of the order) are enforced by the task and voucher
services on the actor assertion the gateway signs; their 403/404 answers come back unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from ring_contracts.decisions import OptionalReasonRequest
from ring_contracts.tasks import MessageRequest, ProgressRequest, TaskCreateRequest
from ring_gateway.api.abuse import screen_self_dealing
from ring_gateway.api.proxy import LONG_POLL, Idempotency, IdempotencyKey, Query, Route, page
from ring_gateway.api.support import A, B, Gateway, client_address, example, idempotent, roles
from ring_gateway.tokens import Principal
from ring_runtime.http import Limit

#: Largest voucher upload accepted by the gateway (the voucher service enforces per-file limits).
MAX_UPLOAD_BYTES = 110 * 1024 * 1024

_ID = "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c"
_TASK = {
    "id": _ID,
    "owner_id": "0b7c8f1e-5a51-4c3e-8f0e-3d1f0b8f7a10",
    "title": "Label 500 images",
    "status": "published",
    "commission_minor": 10000,
    "fee_minor": 500,
    "currency": "CNY",
    "slots": 2,
    "slots_left": 2,
    "reserved_minor": 21000,
}
#: A task as the board lists it (no escrow figures: ``GET /v1/tasks/{id}`` has those).
_BOARD_ROW = {
    "id": _ID,
    "owner_id": "0b7c8f1e-5a51-4c3e-8f0e-3d1f0b8f7a10",
    "title": "Label 500 images",
    "description": "Boxes around every car",
    "status": "published",
    "commission_minor": 10000,
    "fee_minor": 500,
    "currency": "CNY",
    "slots": 2,
    "slots_left": 2,
    "required_skills": ["labeling"],
    "deadline": "2026-12-24T00:00:00Z",
    "created_at": "2026-11-27T09:00:00Z",
}
_ORDER = {
    "id": _ID,
    "task_id": _ID,
    "status": "accepted",
    "history": [{"status": "accepted", "at": "2026-11-27T10:00:00Z", "note": ""}],
}
_ORDER_ROW = {
    "id": _ID,
    "task_id": _ID,
    "owner_id": "0b7c8f1e-5a51-4c3e-8f0e-3d1f0b8f7a10",
    "provider_id": "7e2d4c6b-8a9f-4b1c-9d0e-1f2a3b4c5d6e",
    "status": "in_progress",
    "percent": 40,
    "created_at": "2026-11-27T10:00:00Z",
    "updated_at": "2026-11-27T12:00:00Z",
}
_MESSAGE = {
    "id": _ID,
    "order_id": _ID,
    "author_id": "0b7c8f1e-5a51-4c3e-8f0e-3d1f0b8f7a10",
    "role": "owner",
    "body": "Boxes or polygons?",
    "at": "2026-11-27T10:05:00Z",
}
VOUCHER_EXAMPLE = {
    "id": _ID,
    "order_id": _ID,
    "status": "submitted",
    "files": [{"sha256": "9f86d0…", "size": 2048, "content_type": "image/png"}],
    "flags": [],
    "duplicate_of": [],
}


ROUTES = [
    Route(
        "POST",
        "/v1/tasks",
        "CreateTask",
        "tasks",
        (A,),
        "task",
        "/tasks",
        example(201, {"id": _ID, "status": "draft"}, "The draft task"),
        body=TaskCreateRequest,
        idempotency=Idempotency.OPTIONAL,
        doc="Party A drafts a task (``Idempotency-Key`` recommended).",
    ),
    Route(
        "POST",
        "/v1/tasks/{task_id:uuid}/publish",
        "PublishTask",
        "tasks",
        (A,),
        "task",
        "/tasks/{task_id}/publish",
        example(202, {**_TASK, "status": "funding"}, "Funding requested"),
        status=202,
        doc="The owner asks to publish; the task is ``published`` once escrow holds the money.",
    ),
    Route(
        "POST",
        "/v1/tasks/{task_id:uuid}/cancel",
        "CancelTask",
        "tasks",
        (A,),
        "task",
        "/tasks/{task_id}/cancel",
        example(200, {**_TASK, "status": "cancelled", "cancelled_orders": 1}, "The cancelled task"),
        status=200,
        doc="The owner cancels the task with its unsubmitted orders (409 "
        "`submitted_work_pending` while handed-in work awaits review); unused escrow is refunded.",
    ),
    Route(
        "GET",
        "/v1/tasks",
        "ListTasks",
        "tasks",
        (),
        "task",
        "/tasks",
        example(200, {"items": [_BOARD_ROW], "next_cursor": None}, "One page of the board"),
        query=(
            Query("status", Annotated[str | None, QueryParameter()]),
            Query("skill", Annotated[str | None, QueryParameter()]),
            Query("min_commission", Annotated[int | None, Parameter(ge=0)]),
            Query("currency", Annotated[str | None, QueryParameter()]),
            Query("q", Annotated[str | None, Parameter(max_length=200)]),
            Query("owner_id", Annotated[UUID | None, QueryParameter()]),
            *page(20),
        ),
        doc="The task board, newest first; pass ``next_cursor`` as ``cursor`` for the next page.",
    ),
    Route(
        "GET",
        "/v1/tasks/{task_id:uuid}",
        "GetTask",
        "tasks",
        (),
        "task",
        "/tasks/{task_id}",
        example(200, _TASK, "The task"),
        query=LONG_POLL,
        doc="One task with ``status``, ``slots_left``, ``fee_minor`` and ``reserved_minor``; "
        "``?wait_for=status:published&timeout=10`` waits (long-poll) until it is published.",
    ),
    Route(
        "GET",
        "/v1/tasks/{task_id:uuid}/candidates",
        "ListCandidates",
        "tasks",
        (A,),
        "matching",
        "/tasks/{task_id}/candidates",
        example(200, [{"provider_id": _ID, "score": 0.92}], "Ranked providers"),
        query=(Query("limit", Limit, 20),),
        doc="Providers ranked for the owner's task, best first.",
    ),
    Route(
        "GET",
        "/v1/orders",
        "ListOrders",
        "orders",
        (A, B),
        "task",
        "/orders",
        example(200, {"items": [_ORDER_ROW], "next_cursor": None}, "One page"),
        query=(
            Query("status", Annotated[str | None, Parameter(max_length=40)]),
            Query("task_id", Annotated[UUID | None, QueryParameter()]),
            *page(20),
        ),
        doc="The caller's orders (as task owner or as provider), newest first. Statuses are "
        "eventually consistent: ``GET /v1/orders/{id}`` is authoritative.",
    ),
    Route(
        "GET",
        "/v1/orders/{order_id:uuid}",
        "GetOrder",
        "orders",
        (A, B),
        "task",
        "/orders/{order_id}",
        example(200, _ORDER, "The order"),
        query=LONG_POLL,
        doc="One order with its status and history (its parties only); "
        "``?wait_for=status:settled&timeout=10`` waits (long-poll) until it is settled.",
    ),
    Route(
        "POST",
        "/v1/orders/{order_id:uuid}/approve",
        "ApproveApplication",
        "orders",
        (A,),
        "task",
        "/orders/{order_id}/approve",
        example(200, _ORDER, "The admitted order"),
        status=200,
        doc="The task owner admits an application.",
    ),
    Route(
        "POST",
        "/v1/orders/{order_id:uuid}/decline",
        "DeclineApplication",
        "orders",
        (A,),
        "task",
        "/orders/{order_id}/decline",
        example(200, {**_ORDER, "status": "declined"}, "The declined order"),
        status=200,
        body=OptionalReasonRequest,
        body_optional=True,
        doc="The task owner turns an application down.",
    ),
    Route(
        "POST",
        "/v1/orders/{order_id:uuid}/progress",
        "ReportProgress",
        "orders",
        (B,),
        "task",
        "/orders/{order_id}/progress",
        example(200, {**_ORDER, "status": "in_progress"}, "The order"),
        status=200,
        body=ProgressRequest,
        doc="The provider reports progress.",
    ),
    Route(
        "POST",
        "/v1/orders/{order_id:uuid}/messages",
        "PostMessage",
        "orders",
        (A, B),
        "task",
        "/orders/{order_id}/messages",
        example(201, _MESSAGE, "The message"),
        body=MessageRequest,
        doc="A party of the order writes to the other (kept with the order).",
    ),
    Route(
        "GET",
        "/v1/orders/{order_id:uuid}/messages",
        "ListMessages",
        "orders",
        (A, B),
        "task",
        "/orders/{order_id}/messages",
        example(200, {"items": [_MESSAGE], "next_cursor": None}, "The conversation, oldest first"),
        query=page(50),
        doc="The order's conversation, oldest first (its parties only).",
    ),
    Route(
        "POST",
        "/v1/orders/{order_id:uuid}/vouchers",
        "SubmitVoucher",
        "orders",
        (B,),
        "voucher",
        "/orders/{order_id}/vouchers",
        example(201, {"id": _ID, "sha256": ["9f86d0…"]}, "The voucher"),
        upload=MAX_UPLOAD_BYTES,
        doc="The provider uploads proof of completion: multipart ``files`` parts and a ``note``.",
    ),
    Route(
        "GET",
        "/v1/orders/{order_id:uuid}/vouchers",
        "ListOrderVouchers",
        "orders",
        (A, B),
        "voucher",
        "/orders/{order_id}/vouchers",
        example(200, {"items": [VOUCHER_EXAMPLE], "next_cursor": None}, "The order's vouchers"),
        query=page(20),
        summary="ListVouchers",
        doc="The order's vouchers, oldest first, resubmissions included (its parties only).",
    ),
]


@post(
    "/v1/tasks/{task_id:uuid}/orders",
    status_code=HTTP_201_CREATED,
    operation_id="TakeOrder",
    tags=["tasks"],
    guards=[roles(B)],
    responses=example(201, {"id": _ID, "status": "accepted"}, "The order"),
)
async def take_order(
    request: Request[Any, Any, Any],
    task_id: FromPath[UUID],
    principal: NamedDependency[Principal],
    gw: NamedDependency[Gateway],
    idempotency_key: IdempotencyKey = None,
) -> Response[bytes]:
    """A verified Party B takes a slot (``applied`` when the owner must approve).

    403 ``self_dealing_suspected`` when B and the task's owner look like one person
    (decision 0017); a weaker sign lets the order through and flags it for review."""
    flag = await screen_self_dealing(
        gw, principal, task_id, client_address(request), request.headers.get("user-agent", "")
    )

    async def run() -> Any:
        answer = await gw.upstreams.call(
            "task", "POST", f"/tasks/{task_id}/orders", actor=principal
        )
        if flag is not None and answer.status == HTTP_201_CREATED:
            await gw.flags.add(flag)
        return answer

    return await idempotent(request, gw, principal, idempotency_key, run, required=False)
