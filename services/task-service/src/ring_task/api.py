"""Internal HTTP API of the task service: thin controllers mapping requests to ``Tasks`` calls.

The gateway authenticates users and signs the acting user into ``X-Ring-Assertion`` (injected
here as ``actor``); every command checks that user against the task or order it touches.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from ring_contracts.decisions import OptionalReasonRequest, ReasonRequest
from ring_contracts.tasks import ProgressRequest, TaskCreateRequest
from ring_runtime.freshness import Freshness
from ring_runtime.http import Cursor, Limit, allow
from ring_runtime.identity import ADMIN, PARTY_A, PARTY_B, Actor
from ring_runtime.long_poll import MAX_WAIT_SECONDS, Changes, WaitFor, WaitTimeout, long_poll
from ring_task.application import Tasks
from ring_task.domain import (
    Order,
    ProviderBlocked,
    ProviderNotVerified,
    ProviderSuspended,
    Task,
    board_owner,
)
from ring_task.projections import BoardQuery, TaskBoardPage, TaskBoardProjection


class Created(msgspec.Struct, frozen=True, kw_only=True):
    """A resource was created."""

    id: UUID
    status: str


class TaskView(msgspec.Struct, frozen=True, kw_only=True):
    """A task as its parties see it."""

    id: UUID
    owner_id: UUID
    title: str
    description: str
    requirements: str
    acceptance_criteria: str
    deadline: datetime
    commission_minor: int
    fee_minor: int
    currency: str
    slots: int
    slots_left: int
    reserved_minor: int
    required_skills: list[str]
    approval_required: bool
    status: str
    version: int

    @classmethod
    def of(cls, task: Task) -> TaskView:
        """The view of ``task``."""
        return cls(
            id=task.id,
            owner_id=task.owner_id,
            title=task.title,
            description=task.description,
            requirements=task.requirements,
            acceptance_criteria=task.acceptance_criteria,
            deadline=task.deadline,
            commission_minor=task.commission_minor,
            fee_minor=task.fee_minor,
            currency=task.currency,
            slots=task.slots,
            slots_left=task.slots_left,
            reserved_minor=task.escrow_minor,
            required_skills=list(task.required_skills),
            approval_required=task.approval_required,
            status=str(task.status),
            version=task.version,
        )


class TaskCancellation(TaskView, frozen=True, kw_only=True):
    """A cancelled task, and how many unsubmitted orders were cancelled with it."""

    cancelled_orders: int


class OrderStepView(msgspec.Struct, frozen=True, kw_only=True):
    """One step of an order's history."""

    status: str
    at: datetime
    note: str


class OrderView(msgspec.Struct, frozen=True, kw_only=True):
    """An order with its full history."""

    id: UUID
    task_id: UUID
    owner_id: UUID
    provider_id: UUID
    status: str
    commission_minor: int
    fee_minor: int
    currency: str
    deadline: datetime
    history: list[OrderStepView]

    @classmethod
    def of(cls, order: Order) -> OrderView:
        """The view of ``order``."""
        return cls(
            id=order.id,
            task_id=order.task_id,
            owner_id=order.owner_id,
            provider_id=order.provider_id,
            status=str(order.status),
            commission_minor=order.commission_minor,
            fee_minor=order.fee_minor,
            currency=order.currency,
            deadline=order.deadline,
            history=[
                OrderStepView(status=str(s.status), at=s.at, note=s.note) for s in order.history
            ],
        )


class Submission(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Work handed in, with the voucher proving it."""

    voucher_id: UUID | None = None


class TaskController(Controller):
    """Tasks: draft, publish, cancel, read, list, take."""

    path = "/tasks"
    tags = ["tasks"]

    @post("/", status_code=HTTP_201_CREATED, operation_id="CreateTask", guards=[allow(PARTY_A)])
    async def create_task(
        self,
        actor: NamedDependency[UUID],
        data: JSONBody[TaskCreateRequest],
        tasks: NamedDependency[Tasks],
    ) -> Created:
        """Draft a task owned by the acting Party A."""
        fields = msgspec.structs.asdict(data)
        task_id = await asyncio.to_thread(tasks.create_task, actor, **fields)
        return Created(id=task_id, status="draft")

    @post(
        "/{task_id:uuid}/publish",
        status_code=HTTP_202_ACCEPTED,
        operation_id="PublishTask",
        guards=[allow(PARTY_A)],
    )
    async def publish_task(
        self, actor: NamedDependency[UUID], task_id: FromPath[UUID], tasks: NamedDependency[Tasks]
    ) -> TaskView:
        """Ask to publish; the task is ``funding`` until the ledger holds the commission."""
        return TaskView.of(await asyncio.to_thread(tasks.publish, task_id, actor))

    @post(
        "/{task_id:uuid}/cancel",
        status_code=HTTP_200_OK,
        operation_id="CancelTask",
        guards=[allow(PARTY_A)],
    )
    async def cancel_task(
        self, actor: NamedDependency[UUID], task_id: FromPath[UUID], tasks: NamedDependency[Tasks]
    ) -> TaskCancellation:
        """The owner cancels the task (decision 0007): open orders whose work was not handed in
        are cancelled with it, submitted work must be reviewed first, unused escrow is refunded."""
        cancelled = await asyncio.to_thread(tasks.cancel, task_id, actor)
        task = TaskView.of(cancelled.task)
        return TaskCancellation(
            **msgspec.structs.asdict(task), cancelled_orders=cancelled.cancelled_orders
        )

    @get("/{task_id:uuid}", operation_id="GetTask")
    async def get_task(
        self,
        caller: NamedDependency[Actor],
        task_id: FromPath[UUID],
        tasks: NamedDependency[Tasks],
        changes: NamedDependency[Changes],
        wait_for: WaitFor = None,
        wait_timeout: WaitTimeout = MAX_WAIT_SECONDS,
    ) -> TaskView:
        """One task, read from its events (always current); 404 unless published, the caller's
        own, one the caller holds an order on, or the caller is an admin. ``wait_for``
        long-polls."""
        admin = caller.role == ADMIN
        return await long_poll(
            lambda: TaskView.of(tasks.get_task_for(task_id, caller.user_id, admin=admin)),
            wait_for,
            wait_timeout,
            changes,
            task_id,
        )

    @get("/", operation_id="ListTasks")
    async def list_tasks(
        self,
        caller: NamedDependency[Actor],
        board: NamedDependency[TaskBoardProjection],
        status: FromQuery[str | None] = "published",
        skill: FromQuery[str | None] = None,
        min_commission: Annotated[int | None, Parameter(ge=0)] = None,
        currency: FromQuery[str | None] = None,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
        owner_id: FromQuery[UUID | None] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> TaskBoardPage:
        """The task board: newest first, filtered, one page per call (eventually consistent).

        Published tasks are everyone's board; other statuses list only the caller's own tasks
        (admins: anyone's), see :func:`ring_task.domain.board_owner`.
        """
        owner_id = board_owner(status or None, owner_id, caller.user_id, admin=caller.role == ADMIN)
        query = BoardQuery(
            status=status or None,
            skill=skill,
            min_commission=min_commission,
            currency=currency,
            q=q,
            owner_id=owner_id,
            cursor=cursor,
            limit=limit,
        )
        return await asyncio.to_thread(board.list, query)

    @post(
        "/{task_id:uuid}/orders",
        status_code=HTTP_201_CREATED,
        operation_id="TakeOrder",
        guards=[allow(PARTY_B)],
    )
    async def take_order(
        self,
        actor: NamedDependency[UUID],
        task_id: FromPath[UUID],
        tasks: NamedDependency[Tasks],
        freshness: NamedDependency[Freshness],
    ) -> Created:
        """The acting provider takes a slot: ``accepted``, or ``applied`` if approval is needed.

        Judged on the provider's standing as of matching's latest word (decision 0009)."""
        order = await freshness.judge(
            tasks.take_order,
            task_id,
            actor,
            refusals=(ProviderNotVerified, ProviderSuspended, ProviderBlocked),
        )
        return Created(id=order.id, status=str(order.status))


class OrderController(Controller):
    """Orders: approve or decline applications, progress, submission, review."""

    path = "/orders"
    tags = ["orders"]

    @get("/{order_id:uuid}", operation_id="GetOrder")
    async def get_order(
        self,
        actor: NamedDependency[UUID],
        order_id: FromPath[UUID],
        tasks: NamedDependency[Tasks],
        changes: NamedDependency[Changes],
        wait_for: WaitFor = None,
        wait_timeout: WaitTimeout = MAX_WAIT_SECONDS,
    ) -> OrderView:
        """One order with its history; only its owner and provider may read it; ``wait_for``
        long-polls."""
        return await long_poll(
            lambda: OrderView.of(tasks.get_order_for(order_id, actor)),
            wait_for,
            wait_timeout,
            changes,
            order_id,
        )

    @post(
        "/{order_id:uuid}/approve",
        status_code=HTTP_200_OK,
        operation_id="ApproveApplication",
        guards=[allow(PARTY_A)],
    )
    async def approve_application(
        self, actor: NamedDependency[UUID], order_id: FromPath[UUID], tasks: NamedDependency[Tasks]
    ) -> OrderView:
        """The task owner admits the application."""
        return OrderView.of(await asyncio.to_thread(tasks.approve_application, order_id, actor))

    @post(
        "/{order_id:uuid}/decline",
        status_code=HTTP_200_OK,
        operation_id="DeclineApplication",
        guards=[allow(PARTY_A)],
    )
    async def decline_application(
        self,
        actor: NamedDependency[UUID],
        order_id: FromPath[UUID],
        data: JSONBody[OptionalReasonRequest],
        tasks: NamedDependency[Tasks],
    ) -> OrderView:
        """The task owner turns the application down; the slot is free again."""
        return OrderView.of(
            await asyncio.to_thread(tasks.decline_application, order_id, actor, data.reason)
        )

    @post(
        "/{order_id:uuid}/progress",
        status_code=HTTP_200_OK,
        operation_id="ReportProgress",
        guards=[allow(PARTY_B)],
    )
    async def report_progress(
        self,
        actor: NamedDependency[UUID],
        order_id: FromPath[UUID],
        data: JSONBody[ProgressRequest],
        tasks: NamedDependency[Tasks],
    ) -> OrderView:
        """The provider reports progress."""
        return OrderView.of(
            await asyncio.to_thread(tasks.report_progress, order_id, actor, data.percent, data.note)
        )

    @post(
        "/{order_id:uuid}/submission",
        status_code=HTTP_200_OK,
        operation_id="SubmitWork",
        guards=[allow(PARTY_B)],
    )
    async def submit_work(
        self,
        actor: NamedDependency[UUID],
        order_id: FromPath[UUID],
        data: JSONBody[Submission],
        tasks: NamedDependency[Tasks],
    ) -> OrderView:
        """The provider hands the work in."""
        return OrderView.of(
            await asyncio.to_thread(tasks.submit_voucher, order_id, actor, data.voucher_id)
        )

    @post(
        "/{order_id:uuid}/approval",
        status_code=HTTP_200_OK,
        operation_id="ApproveWork",
        guards=[allow(PARTY_A)],
    )
    async def approve_work(
        self, actor: NamedDependency[UUID], order_id: FromPath[UUID], tasks: NamedDependency[Tasks]
    ) -> OrderView:
        """The task owner accepts the work; the ledger settles the commission."""
        return OrderView.of(await asyncio.to_thread(tasks.approve_order, order_id, actor))

    @post(
        "/{order_id:uuid}/rejection",
        status_code=HTTP_200_OK,
        operation_id="RejectWork",
        guards=[allow(PARTY_A)],
    )
    async def reject_work(
        self,
        actor: NamedDependency[UUID],
        order_id: FromPath[UUID],
        data: JSONBody[ReasonRequest],
        tasks: NamedDependency[Tasks],
    ) -> OrderView:
        """The task owner rejects the work with a reason; the provider may resubmit."""
        return OrderView.of(
            await asyncio.to_thread(tasks.reject_order, order_id, actor, data.reason)
        )
