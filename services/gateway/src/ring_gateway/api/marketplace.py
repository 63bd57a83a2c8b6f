"""Tasks, orders and vouchers: authorize by role, forward to the owning service, relay the answer.

Object-level checks (owner of the task, party of the order) are enforced by the task and voucher
services on the actor assertion the gateway signs; their 403/404 answers come back unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from ring_contracts.decisions import OptionalReasonRequest
from ring_contracts.tasks import MessageRequest, ProgressRequest, TaskCreateRequest
from ring_gateway.api.abuse import screen_self_dealing
from ring_gateway.api.support import (
    A,
    B,
    Gateway,
    client_address,
    example,
    forward,
    forward_body,
    idempotent,
    require,
    require_currency,
)
from ring_gateway.tokens import Principal
from ring_runtime.http import Cursor, Limit
from ring_runtime.long_poll import MAX_WAIT_SECONDS, WaitFor, WaitTimeout

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key", description="Makes retries safe (kept 24 h by default)."
    ),
]
#: The same header where the operation refuses to run without it (money moves): declared
#: required in the schema; a request without it is a 400 ``invalid_idempotency_key``.
RequiredIdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=True,
        description="Required: makes retries safe (kept 24 h by default).",
    ),
]
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


def _waiting(wait_for: str | None, wait_timeout: float) -> dict[str, str] | None:
    """The long-poll parameters to pass on, if the client asked to wait."""
    return {"wait_for": wait_for, "timeout": str(wait_timeout)} if wait_for else None


class TaskController(Controller):
    """Task drafting, publishing and the task board."""

    path = "/v1/tasks"
    tags = ["tasks"]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        operation_id="CreateTask",
        responses=example(201, {"id": _ID, "status": "draft"}, "The draft task"),
    )
    async def create_task(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[TaskCreateRequest],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Party A drafts a task (``Idempotency-Key`` recommended)."""
        require(principal, A)
        require_currency(gw, data.currency)
        body = msgspec.to_builtins(data)

        async def run() -> Any:
            return await gw.upstreams.call("task", "POST", "/tasks", actor=principal, json=body)

        return await idempotent(request, gw, principal, idempotency_key, run, required=False)

    @post(
        "/{task_id:uuid}/publish",
        status_code=HTTP_202_ACCEPTED,
        operation_id="PublishTask",
        responses=example(202, {**_TASK, "status": "funding"}, "Funding requested"),
    )
    async def publish_task(
        self,
        task_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """The owner asks to publish; the task is ``published`` once escrow holds the money."""
        require(principal, A)
        return await forward(gw, principal, "task", "POST", f"/tasks/{task_id}/publish")

    @post(
        "/{task_id:uuid}/cancel",
        status_code=HTTP_200_OK,
        operation_id="CancelTask",
        responses=example(
            200, {**_TASK, "status": "cancelled", "cancelled_orders": 1}, "The cancelled task"
        ),
    )
    async def cancel_task(
        self,
        task_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """The owner cancels the task with its unsubmitted orders (409 `submitted_work_pending`
        while handed-in work awaits review); unused escrow is refunded."""
        require(principal, A)
        return await forward(gw, principal, "task", "POST", f"/tasks/{task_id}/cancel")

    @get(
        "/",
        operation_id="ListTasks",
        responses=example(
            200, {"items": [_BOARD_ROW], "next_cursor": None}, "One page of the board"
        ),
    )
    async def list_tasks(
        self,
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        status: FromQuery[str | None] = None,
        skill: FromQuery[str | None] = None,
        min_commission: Annotated[int | None, Parameter(ge=0)] = None,
        currency: FromQuery[str | None] = None,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
        owner_id: FromQuery[UUID | None] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> Response[bytes]:
        """The task board, newest first; pass ``next_cursor`` as ``cursor`` for the next page."""
        params = {
            "status": status,
            "skill": skill,
            "min_commission": min_commission,
            "currency": currency,
            "q": q,
            "owner_id": owner_id,
            "cursor": cursor,
            "limit": limit,
        }
        return await forward(gw, principal, "task", "GET", "/tasks", params=params)

    @get("/{task_id:uuid}", operation_id="GetTask", responses=example(200, _TASK, "The task"))
    async def get_task(
        self,
        task_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        wait_for: WaitFor = None,
        wait_timeout: WaitTimeout = MAX_WAIT_SECONDS,
    ) -> Response[bytes]:
        """One task with ``status``, ``slots_left``, ``fee_minor`` and ``reserved_minor``.

        ``?wait_for=status:published&timeout=10`` waits (long-poll) until the task is
        published, instead of polling."""
        params = _waiting(wait_for, wait_timeout)
        return await forward(gw, principal, "task", "GET", f"/tasks/{task_id}", params=params)

    @get(
        "/{task_id:uuid}/candidates",
        operation_id="ListCandidates",
        responses=example(200, [{"provider_id": _ID, "score": 0.92}], "Ranked providers"),
    )
    async def list_candidates(
        self,
        task_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        limit: Limit = 20,
    ) -> Response[bytes]:
        """Providers ranked for the owner's task, best first."""
        require(principal, A)
        return await forward(
            gw,
            principal,
            "matching",
            "GET",
            f"/tasks/{task_id}/candidates",
            params={"limit": limit},
        )

    @post(
        "/{task_id:uuid}/orders",
        status_code=HTTP_201_CREATED,
        operation_id="TakeOrder",
        responses=example(201, {"id": _ID, "status": "accepted"}, "The order"),
    )
    async def take_order(
        self,
        request: Request[Any, Any, Any],
        task_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """A verified Party B takes a slot (``applied`` when the owner must approve).

        403 ``self_dealing_suspected`` when B and the task's owner look like one person
        (decision 0017); a weaker sign lets the order through and flags it for review."""
        require(principal, B)
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


class OrderController(Controller):
    """Orders: applications, progress, vouchers."""

    path = "/v1/orders"
    tags = ["orders"]

    @get(
        "/",
        operation_id="ListOrders",
        responses=example(200, {"items": [_ORDER_ROW], "next_cursor": None}, "One page"),
    )
    async def list_orders(
        self,
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        status: Annotated[str | None, Parameter(max_length=40)] = None,
        task_id: FromQuery[UUID | None] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> Response[bytes]:
        """The caller's orders (as task owner or as provider), newest first; pass
        ``next_cursor`` as ``cursor`` for the next page. Statuses are eventually consistent:
        ``GET /v1/orders/{id}`` is authoritative."""
        require(principal, A, B)
        params = {"status": status, "task_id": task_id, "cursor": cursor, "limit": limit}
        return await forward(gw, principal, "task", "GET", "/orders", params=params)

    @get("/{order_id:uuid}", operation_id="GetOrder", responses=example(200, _ORDER, "The order"))
    async def get_order(
        self,
        order_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        wait_for: WaitFor = None,
        wait_timeout: WaitTimeout = MAX_WAIT_SECONDS,
    ) -> Response[bytes]:
        """One order with its status and history (its parties only).

        ``?wait_for=status:settled&timeout=10`` waits (long-poll) until the order is settled,
        instead of polling."""
        require(principal, A, B)
        params = _waiting(wait_for, wait_timeout)
        return await forward(gw, principal, "task", "GET", f"/orders/{order_id}", params=params)

    @post(
        "/{order_id:uuid}/approve",
        status_code=HTTP_200_OK,
        operation_id="ApproveApplication",
        responses=example(200, _ORDER, "The admitted order"),
    )
    async def approve_application(
        self,
        order_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """The task owner admits an application."""
        require(principal, A)
        return await forward(gw, principal, "task", "POST", f"/orders/{order_id}/approve")

    @post(
        "/{order_id:uuid}/decline",
        status_code=HTTP_200_OK,
        operation_id="DeclineApplication",
        responses=example(200, {**_ORDER, "status": "declined"}, "The declined order"),
    )
    async def decline_application(
        self,
        order_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        data: JSONBody[OptionalReasonRequest | None] = None,
    ) -> Response[bytes]:
        """The task owner turns an application down."""
        require(principal, A)
        path = f"/orders/{order_id}/decline"
        return await forward(
            gw, principal, "task", "POST", path, data=data or OptionalReasonRequest()
        )

    @post(
        "/{order_id:uuid}/progress",
        status_code=HTTP_200_OK,
        operation_id="ReportProgress",
        responses=example(200, {**_ORDER, "status": "in_progress"}, "The order"),
    )
    async def report_progress(
        self,
        order_id: FromPath[UUID],
        data: JSONBody[ProgressRequest],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """The provider reports progress."""
        require(principal, B)
        return await forward(
            gw, principal, "task", "POST", f"/orders/{order_id}/progress", data=data
        )

    @post(
        "/{order_id:uuid}/messages",
        status_code=HTTP_201_CREATED,
        operation_id="PostMessage",
        responses=example(201, _MESSAGE, "The message"),
    )
    async def post_message(
        self,
        order_id: FromPath[UUID],
        data: JSONBody[MessageRequest],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """A party of the order writes to the other (kept with the order)."""
        require(principal, A, B)
        return await forward(
            gw, principal, "task", "POST", f"/orders/{order_id}/messages", data=data
        )

    @get(
        "/{order_id:uuid}/messages",
        operation_id="ListMessages",
        responses=example(
            200, {"items": [_MESSAGE], "next_cursor": None}, "The conversation, oldest first"
        ),
    )
    async def list_messages(
        self,
        order_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Response[bytes]:
        """The order's conversation, oldest first (its parties only); pass ``next_cursor`` as
        ``cursor`` for the next page."""
        require(principal, A, B)
        return await forward(
            gw,
            principal,
            "task",
            "GET",
            f"/orders/{order_id}/messages",
            params={"cursor": cursor, "limit": limit},
        )

    @post(
        "/{order_id:uuid}/vouchers",
        status_code=HTTP_201_CREATED,
        operation_id="SubmitVoucher",
        request_max_body_size=MAX_UPLOAD_BYTES,
        responses=example(201, {"id": _ID, "sha256": ["9f86d0…"]}, "The voucher"),
    )
    async def submit_voucher(
        self,
        request: Request[Any, Any, Any],
        order_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """The provider uploads proof of completion: multipart ``files`` parts and a ``note``."""
        require(principal, B)
        return await forward_body(gw, principal, request, "voucher", f"/orders/{order_id}/vouchers")

    @get(
        "/{order_id:uuid}/vouchers",
        operation_id="ListOrderVouchers",
        responses=example(
            200, {"items": [VOUCHER_EXAMPLE], "next_cursor": None}, "The order's vouchers"
        ),
    )
    async def list_vouchers(
        self,
        order_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> Response[bytes]:
        """The order's vouchers, oldest first, resubmissions included (its parties only); pass
        ``next_cursor`` as ``cursor`` for the next page."""
        require(principal, A, B)
        return await forward(
            gw,
            principal,
            "voucher",
            "GET",
            f"/orders/{order_id}/vouchers",
            params={"cursor": cursor, "limit": limit},
        )
