"""The task service's commands: get → act → save, retried when another writer got there first.

Every command re-reads its aggregates and re-checks every rule on each attempt, so a retry after
an optimistic-concurrency conflict is always safe. A command that touches a task and an order
saves both in one ``save()``: they commit together or not at all.

Commands driven by other contexts (funding outcome, settlement, disputes, timers) are
idempotent: repeating one that already took effect changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from ring_runtime.concurrency import retrying
from ring_runtime.store import RingApplication
from ring_runtime.unit_of_work import UnitOfWork
from ring_task.domain import (
    WORKING,
    NotOrderParty,
    NotTaskOwner,
    Order,
    OrderNotFound,
    OrderStatus,
    Task,
    TaskNotFound,
    TaskStatus,
    open_order,
)
from ring_task.domain.cancellation import check_cancellable
from ring_task.domain.providers import ProviderStandings

#: Platform fee rate used when ``RING_PLATFORM_FEE_BPS`` is not set: 5 %.
DEFAULT_FEE_BPS = 500


class Tasks(RingApplication):
    """Tasks of Party A and the orders Party B takes on them."""

    #: Where ``take_order`` learns a provider's standing. The service always sets it
    #: (``main.create_app``); left unset, as in unit tests of other rules, anyone may take.
    provider_standings: ProviderStandings | None = None

    def lifecycle_of(self, obj: object) -> UUID | None:
        """A task's lifecycle is the task's: its orders join it (one correlation id from
        creation to the last settlement, unless a request names another)."""
        if isinstance(obj, Task):
            return obj.id
        if isinstance(obj, Order):
            return obj.task_id
        return None

    def use_provider_standings(self, standings: ProviderStandings) -> None:
        """Refuse orders from providers that are unverified, suspended or blocked by the owner."""
        self.provider_standings = standings

    @property
    def fee_bps(self) -> int:
        """Platform fee rate in basis points (``RING_PLATFORM_FEE_BPS``, default 500 = 5 %)."""
        return int(self.env.get("RING_PLATFORM_FEE_BPS", str(DEFAULT_FEE_BPS)))

    # -- tasks ---------------------------------------------------------------------------------

    def create_task(
        self,
        owner_id: UUID,
        *,
        title: str,
        description: str = "",
        requirements: str = "",
        acceptance_criteria: str = "",
        deadline: datetime,
        commission_minor: int,
        currency: str,
        slots: int,
        required_skills: tuple[str, ...] | list[str] = (),
        approval_required: bool = False,
        now: datetime | None = None,
    ) -> UUID:
        """Draft a task for ``owner_id``; returns its id."""
        task = Task.create(
            owner_id=owner_id,
            title=title,
            description=description,
            requirements=requirements,
            acceptance_criteria=acceptance_criteria,
            deadline=deadline,
            commission_minor=commission_minor,
            currency=currency,
            slots=slots,
            required_skills=required_skills,
            approval_required=approval_required,
            fee_bps=self.fee_bps,
            currencies=self.currencies,
            now=_at(now),
        )
        self.save(task)
        return task.id

    def publish(self, task_id: UUID, actor_id: UUID, now: datetime | None = None) -> Task:
        """The owner asks to publish; the task waits in ``funding`` for the ledger. Returns the
        task."""
        at = _at(now)

        def act() -> Task:
            task = self.get_task(task_id)
            _require_owner(task, actor_id)
            task.publish(at)
            self.save(task)
            return task

        return retrying(act)

    def mark_funded(
        self, task_id: UUID, now: datetime | None = None, *, unit: UnitOfWork | None = None
    ) -> None:
        """Escrow holds the commission: publish the task. No-op if already published."""
        at = _at(now)
        self._update_task(
            task_id, TaskStatus.PUBLISHED, lambda task: task.mark_published(at), unit=unit
        )

    def mark_funding_failed(
        self,
        task_id: UUID,
        reason: str,
        now: datetime | None = None,
        *,
        unit: UnitOfWork | None = None,
    ) -> None:
        """The ledger refused the hold. No-op if the failure was already recorded."""
        at = _at(now)
        self._update_task(
            task_id,
            TaskStatus.FUNDING_FAILED,
            lambda task: task.mark_funding_failed(reason, at),
            unit=unit,
        )

    def expire_task(self, task_id: UUID, now: datetime | None = None) -> None:
        """Take the task off the board at its deadline. No-op if already expired."""
        at = _at(now)
        self._update_task(task_id, TaskStatus.EXPIRED, lambda task: task.expire(at))

    def complete_task(self, task_id: UUID, now: datetime | None = None) -> None:
        """Close a task whose slots are used up, or an expired one. No-op if already done."""
        at = _at(now)
        self._update_task(task_id, TaskStatus.COMPLETED, lambda task: task.complete(at))

    # -- orders --------------------------------------------------------------------------------

    def take_order(self, task_id: UUID, provider_id: UUID, now: datetime | None = None) -> Order:
        """A provider takes a slot; returns the new order.

        The task (slot taken) and the order are saved together. When providers race for the
        last slots, losers re-read the task and get :class:`~ring_task.domain.NoSlotsLeft`.
        The provider must be in good standing (see :mod:`ring_task.domain.providers`).
        """
        at = _at(now)

        def act() -> Order:
            task = self.get_task(task_id)
            if self.provider_standings is not None:
                self.provider_standings.standing(provider_id, task.owner_id).check_may_take()
            order = open_order(task, provider_id, at)
            self.save(task, order)
            return order

        return retrying(act)

    def approve_application(
        self, order_id: UUID, actor_id: UUID, now: datetime | None = None
    ) -> Order:
        """The owner admits an application; the provider may start."""
        at = _at(now)
        return self._act_on_order(order_id, actor_id, Party.OWNER, lambda order: order.accept(at))

    def decline_application(
        self, order_id: UUID, actor_id: UUID, reason: str = "", now: datetime | None = None
    ) -> Order:
        """The owner turns an application down; its slot is offered again."""
        at = _at(now)
        return self._act_on_order(
            order_id,
            actor_id,
            Party.OWNER,
            lambda order: order.decline(reason, at),
            on_task=lambda task, order: task.release_slot(order.id, at),
        )

    def report_progress(
        self,
        order_id: UUID,
        actor_id: UUID,
        percent: int,
        note: str = "",
        now: datetime | None = None,
    ) -> Order:
        """The provider reports progress (0..100 %)."""
        at = _at(now)
        return self._act_on_order(
            order_id,
            actor_id,
            Party.PROVIDER,
            lambda order: order.report_progress(percent, note, at),
        )

    def submit_voucher(
        self,
        order_id: UUID,
        actor_id: UUID,
        voucher_id: UUID | None = None,
        now: datetime | None = None,
    ) -> Order:
        """The provider hands in the work, with the voucher proving it."""
        at = _at(now)
        return self._act_on_order(
            order_id, actor_id, Party.PROVIDER, lambda order: order.submit(voucher_id, at)
        )

    def approve_order(self, order_id: UUID, actor_id: UUID, now: datetime | None = None) -> Order:
        """The owner accepts the work; the ledger will settle the commission."""
        at = _at(now)
        return self._act_on_order(order_id, actor_id, Party.OWNER, lambda order: order.approve(at))

    def reject_order(
        self, order_id: UUID, actor_id: UUID, reason: str, now: datetime | None = None
    ) -> Order:
        """The owner rejects the work with a reason."""
        at = _at(now)
        return self._act_on_order(
            order_id, actor_id, Party.OWNER, lambda order: order.reject(reason, at)
        )

    def cancel_order(self, order_id: UUID, actor_id: UUID, now: datetime | None = None) -> Order:
        """The provider withdraws before handing in; the slot is offered again."""
        at = _at(now)
        return self._act_on_order(
            order_id,
            actor_id,
            Party.PROVIDER,
            lambda order: order.cancel(at),
            on_task=lambda task, order: task.release_slot(order.id, at),
        )

    def expire_order(self, order_id: UUID, now: datetime | None = None) -> None:
        """The deadline passed before hand-in; the slot is released. No-op if already expired."""
        at = _at(now)
        self._update_order(
            order_id,
            OrderStatus.EXPIRED,
            lambda order: order.expire(at),
            on_task=lambda task, order: task.release_slot(order.id, at),
        )

    def mark_order_disputed(self, order_id: UUID, now: datetime | None = None) -> None:
        """A dispute was opened about the order. No-op if already disputed."""
        at = _at(now)
        self._update_order(order_id, OrderStatus.DISPUTED, lambda order: order.dispute(at))

    def mark_order_settled(self, order_id: UUID, now: datetime | None = None) -> None:
        """The commission reached the provider. No-op if already settled (redelivery)."""
        at = _at(now)
        self._update_order(
            order_id,
            OrderStatus.SETTLED,
            lambda order: order.settle(at),
            on_task=lambda task, order: task.settle_slot(order.id, at),
        )

    def mark_order_refunded(self, order_id: UUID, now: datetime | None = None) -> None:
        """A dispute refunded the commission to the owner. No-op if already refunded."""
        at = _at(now)
        self._update_order(
            order_id,
            OrderStatus.REFUNDED,
            lambda order: order.refund(at),
            on_task=lambda task, order: task.refund_slot(order.id, at),
        )

    # -- voucher outcomes (ring.voucher.events) ---------------------------------------------

    def record_voucher_submitted(
        self,
        order_id: UUID,
        provider_id: UUID,
        voucher_id: UUID,
        now: datetime | None = None,
        *,
        unit: UnitOfWork | None = None,
    ) -> None:
        """The provider handed in ``voucher_id`` at the voucher service. No-op if the order
        already holds that voucher (the provider also called :meth:`submit_voucher`)."""
        at = _at(now)

        def act() -> None:
            order = self.get_order(order_id)
            if order.voucher_id == voucher_id:
                return
            if order.provider_id != provider_id:
                raise NotOrderParty("only the order's provider may hand in a voucher")
            order.submit(voucher_id, at)
            self.save(order, unit=unit)

        retrying(act)

    def record_voucher_approved(
        self,
        order_id: UUID,
        owner_id: UUID,
        now: datetime | None = None,
        *,
        unit: UnitOfWork | None = None,
    ) -> None:
        """The owner (or the review window) approved the voucher. No-op if the order is
        already approved or settled."""
        at = _at(now)

        def act() -> None:
            order = self.get_order(order_id)
            if order.status in (OrderStatus.APPROVED, OrderStatus.SETTLED):
                return
            if order.owner_id != owner_id:
                raise NotOrderParty("only the order's owner may approve the work")
            order.approve(at)
            self.save(order, unit=unit)

        retrying(act)

    def record_voucher_rejected(
        self,
        order_id: UUID,
        owner_id: UUID,
        voucher_id: UUID,
        reason: str,
        now: datetime | None = None,
        *,
        unit: UnitOfWork | None = None,
    ) -> None:
        """The owner rejected ``voucher_id``. No-op unless the order is submitted with exactly
        that voucher (the rejection was already recorded, e.g. by :meth:`reject_order`)."""
        at = _at(now)

        def act() -> None:
            order = self.get_order(order_id)
            if order.status is not OrderStatus.SUBMITTED or order.voucher_id != voucher_id:
                return
            if order.owner_id != owner_id:
                raise NotOrderParty("only the order's owner may reject the work")
            order.reject(reason, at)
            self.save(order, unit=unit)

        retrying(act)

    def record_settlement(
        self,
        order_id: UUID,
        now: datetime | None = None,
        paid_minor: int | None = None,
        *,
        unit: UnitOfWork | None = None,
    ) -> None:
        """The ledger paid the order's commission (``paid_minor``): settle the order and slot.

        When that was the task's last open slot, the task completes in the same save (every
        slot settled or released, nothing open). No-op if the order is already settled.
        """
        at = _at(now)

        def act() -> None:
            order = self.get_order(order_id)
            if order.is_settled:
                return
            order.settle(at, paid_minor)
            task = self.get_task(order.task_id)
            task.settle_slot(order.id, at)
            _complete_when_done(task, at)
            self.save(order, task, unit=unit)

        retrying(act)

    # -- reads ---------------------------------------------------------------------------------

    def get_task(self, task_id: UUID) -> Task:
        """The current state of a task."""
        try:
            task: object = self.repository.get(task_id)
        except AggregateNotFoundError:
            raise TaskNotFound(f"task {task_id} not found") from None
        if not isinstance(task, Task):
            raise TaskNotFound(f"task {task_id} not found")
        return task

    def get_task_for(self, task_id: UUID, actor_id: UUID, *, admin: bool = False) -> Task:
        """The task if ``actor_id`` may read it (:meth:`Task.visible_to`; admins read all).

        Raises:
            TaskNotFound: unknown, or not visible to ``actor_id`` (no hint that it exists).
        """
        task = self.get_task(task_id)
        if not admin and not task.visible_to(actor_id):
            raise TaskNotFound(f"task {task_id} not found")
        return task

    def get_order_for(self, order_id: UUID, actor_id: UUID) -> Order:
        """The order, if ``actor_id`` is its task owner or its provider."""
        order = self.get_order(order_id)
        if actor_id not in (order.owner_id, order.provider_id):
            raise NotOrderParty(f"user {actor_id} is not a party of order {order_id}")
        return order

    def get_order(self, order_id: UUID) -> Order:
        """The current state of an order, with its history."""
        try:
            order: object = self.repository.get(order_id)
        except AggregateNotFoundError:
            raise OrderNotFound(f"order {order_id} not found") from None
        if not isinstance(order, Order):
            raise OrderNotFound(f"order {order_id} not found")
        return order

    # -- plumbing ------------------------------------------------------------------------------

    def _update_task(
        self,
        task_id: UUID,
        target: TaskStatus,
        change: Callable[[Task], None],
        *,
        unit: UnitOfWork | None = None,
    ) -> None:
        def act() -> None:
            task = self.get_task(task_id)
            if task.status is target:
                return
            change(task)
            self.save(task, unit=unit)

        retrying(act)

    def _act_on_order(
        self,
        order_id: UUID,
        actor_id: UUID,
        party: Party,
        change: Callable[[Order], None],
        on_task: Callable[[Task, Order], None] | None = None,
    ) -> Order:
        """Load the order once, check the acting party, change and save it; returns the order,
        so the answer needs no second load."""

        def act() -> Order:
            order = self.get_order(order_id)
            if _party_id(order, party) != actor_id:
                raise NotOrderParty(f"only the order's {party} may do this")
            self._change_order(order, change, on_task)
            return order

        return retrying(act)

    def _update_order(
        self,
        order_id: UUID,
        target: OrderStatus,
        change: Callable[[Order], None],
        on_task: Callable[[Task, Order], None] | None = None,
    ) -> None:
        def act() -> None:
            order = self.get_order(order_id)
            if order.status is not target:
                self._change_order(order, change, on_task)

        retrying(act)

    def _change_order(
        self,
        order: Order,
        change: Callable[[Order], None],
        on_task: Callable[[Task, Order], None] | None,
    ) -> None:
        change(order)
        if on_task is None:
            self.save(order)
            return
        task = self.get_task(order.task_id)
        on_task(task, order)
        self.save(order, task)

    # -- disputes (ring.dispute.events, ring.ledger.events) ------------------------------------

    def record_dispute_opened(
        self, order_id: UUID, now: datetime | None = None, *, unit: UnitOfWork | None = None
    ) -> None:
        """A dispute was opened about the order: it is ``disputed`` (no approval, no payout
        until the outcome). No-op unless the order is submitted or rejected (already disputed,
        or the work was approved before the dispute arrived)."""
        at = _at(now)

        def act() -> None:
            order = self.get_order(order_id)
            if order.status in (OrderStatus.SUBMITTED, OrderStatus.REJECTED):
                order.dispute(at)
                self.save(order, unit=unit)

        retrying(act)

    def record_dispute_withdrawn(
        self, order_id: UUID, now: datetime | None = None, *, unit: UnitOfWork | None = None
    ) -> None:
        """The dispute was withdrawn: the order returns to submitted or rejected. No-op unless
        the order is disputed."""
        at = _at(now)

        def act() -> None:
            order = self.get_order(order_id)
            if order.status is OrderStatus.DISPUTED:
                order.withdraw_dispute(at)
                self.save(order, unit=unit)

        retrying(act)

    def record_dispute_outcome(
        self,
        order_id: UUID,
        provider_share_percent: int,
        now: datetime | None = None,
        paid_minor: int | None = None,
        *,
        unit: UnitOfWork | None = None,
    ) -> None:
        """The ledger executed a dispute outcome: ``refunded`` at 0 %, else ``settled`` with
        ``paid_minor``, the provider's share (the whole commission when None).

        The slot is retired with the order; the task completes in the same save when that was
        its last open slot (the ledger then releases the unused escrow). No-op when the order
        is already settled or refunded (redelivery).
        """
        at = _at(now)

        def act() -> None:
            order = self.get_order(order_id)
            if order.status in (OrderStatus.SETTLED, OrderStatus.REFUNDED):
                return
            if order.status in (OrderStatus.SUBMITTED, OrderStatus.REJECTED):
                order.dispute(at)  # the outcome overtook the dispute's opening
            task = self.get_task(order.task_id)
            if provider_share_percent == 0:
                order.refund(at)
                task.refund_slot(order.id, at)
            else:
                order.settle(at, paid_minor)
                task.settle_slot(order.id, at)
            _complete_when_done(task, at)
            self.save(order, task, unit=unit)

        retrying(act)

    # -- timers (ring_task.timers) -------------------------------------------------------------

    def expire_order_when_due(self, order_id: UUID, now: datetime | None = None) -> None:
        """The task's deadline passed: an order whose work was not handed in expires and frees
        its slot; the task completes when that was its last open order after it expired.
        No-op for an order handed in or finished (idempotent timer handler)."""
        at = _at(now)

        def act() -> None:
            order = self.get_order(order_id)
            if order.status not in WORKING or at < order.deadline:
                return
            order.expire(at)
            task = self.get_task(order.task_id)
            task.release_slot(order.id, at)
            _complete_when_done(task, at)
            self.save(order, task)

        retrying(act)

    def expire_task_when_due(self, task_id: UUID, now: datetime | None = None) -> None:
        """The task's deadline passed: it takes no new orders and expires; with no order open
        it completes at once (the ledger releases the unused escrow). No-op unless published."""
        at = _at(now)

        def act() -> None:
            task = self.get_task(task_id)
            if task.status is not TaskStatus.PUBLISHED or at < task.deadline:
                return
            task.expire(at)
            _complete_when_done(task, at)
            self.save(task)

        retrying(act)

    # -- cancellation (ring_task.domain.cancellation, decision 0007) ----------------------------------

    def cancel(self, task_id: UUID, actor_id: UUID, now: datetime | None = None) -> TaskCancelled:
        """The owner cancels the task; open orders whose work was not handed in are cancelled
        with it and their slots released; returns the task and how many orders were cancelled.

        Raises :class:`~ring_task.domain.cancellation.SubmittedWorkPending` while an order is
        submitted, approved (awaiting payment), rejected (may still be disputed) or disputed.
        """
        at = _at(now)

        def act() -> TaskCancelled:
            task = self.get_task(task_id)
            _require_owner(task, actor_id)
            orders = [self.get_order(order_id) for order_id in task.open_orders]
            check_cancellable(task, orders)
            for order in orders:
                order.cancel(at)
                task.release_slot(order.id, at)
            task.cancel(at)
            self.save(task, *orders)
            return TaskCancelled(task=task, cancelled_orders=len(orders))

        return retrying(act)


class TaskCancelled(NamedTuple):
    """What :meth:`Tasks.cancel` did: the cancelled task and how many orders went with it."""

    task: Task
    cancelled_orders: int


def _at(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


class Party(StrEnum):
    """Which side of an order may give a command."""

    OWNER = "owner"
    PROVIDER = "provider"


def _party_id(order: Order, party: Party) -> UUID:
    return order.owner_id if party is Party.OWNER else order.provider_id


def _require_owner(task: Task, actor_id: UUID) -> None:
    if task.owner_id != actor_id:
        raise NotTaskOwner("only the task's owner may do this")


def _complete_when_done(task: Task, at: datetime) -> None:
    """Complete ``task`` once nothing is open and every slot is settled or released.

    A published task is done when no slot is left; an expired one as soon as its last open
    order ended. Called inside the command that closed the last slot, so the completion is
    saved with it (idempotent: a completed task is left alone).
    """
    if task.open_orders:
        return
    if task.status is TaskStatus.EXPIRED or (
        task.status is TaskStatus.PUBLISHED and task.slots_left == 0
    ):
        task.complete(at)
