"""SettlementSaga: the money side of one task's life, as an explicit state machine.

States (of the task's escrow)::

    (new) ──request_funding──► REQUESTED ──► RESERVED ──close──► CLOSED
                                   │  ▲
                                   ▼  │ request_funding (the owner topped up and re-published)
                                REJECTED ──close──► CLOSED

``REQUESTED`` lives only inside the command that decides the outcome: the request and its
outcome (and the postings of a reservation) are recorded in one atomic save.

Named steps, each recorded in the same save as the ledger postings it causes:

===================  ======================  ===================================  ==================
step                 trigger                 postings                             compensation
===================  ======================  ===================================  ==================
reserve_escrow       task.publish_requested  A.available → task escrow            release_unused
settle_commission    order.approved          escrow → B.available, fee → platform none (paid out)
execute_outcome      dispute resolution      escrow → B share, fee share, rest A  none (final)
release_unused       task.cancelled/         escrow (every open slot) → A         — (it *is* the
                     task.completed                                               compensation)
===================  ======================  ===================================  ==================

A rejected reservation needs no compensation: nothing was held. Per order the saga remembers
the outcome (``settled`` or ``resolved``), so a slot leaves escrow at most once per order.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from ring_ledger.domain.errors import LedgerError
from ring_ledger.domain.ids import derive_id


class SagaState(StrEnum):
    """Where a task's escrow is in its life."""

    REQUESTED = "requested"
    RESERVED = "reserved"
    REJECTED = "rejected"
    CLOSED = "closed"


class OrderOutcome(StrEnum):
    """How one order's slot left escrow."""

    SETTLED = "settled"
    RESOLVED = "resolved"


def saga_uuid(task_id: str) -> UUID:
    """The SettlementSaga aggregate id of ``task_id`` (also the key of its public events)."""
    return derive_id("settlement-saga", task_id)


class SettlementSaga(Aggregate):
    """Coordinates reserve → settle / resolve → release for one task."""

    @staticmethod
    def create_id(task_id: str, **_: Any) -> UUID:
        """One saga per task."""
        return saga_uuid(task_id)

    class Started(Aggregate.Created):
        task_id: str
        owner_id: str
        currency: str

    def __init__(self, task_id: str, owner_id: str, currency: str) -> None:
        self.task_id = task_id
        self.owner_id = owner_id
        self.currency = currency
        self.state: SagaState | None = None
        self.slots = 0
        self.slot_minor = 0
        self.attempts = 0
        self.orders: dict[str, OrderOutcome] = {}

    # ------------------------------------------------------------------ reserve_escrow

    @property
    def can_request_funding(self) -> bool:
        """A first request, or a new one after a rejection."""
        return self.state in (None, SagaState.REJECTED)

    def request_funding(self, slots: int, commission_minor: int, fee_minor: int) -> None:
        """Step ``reserve_escrow`` begins: the owner asked to publish the task."""
        if not self.can_request_funding:
            raise IllegalSagaStep(f"funding of task {self.task_id!r} is {self.state}")
        self.trigger_event(
            self.FundingRequested,
            slots=slots,
            commission_minor=commission_minor,
            fee_minor=fee_minor,
            attempt=self.attempts + 1,
        )

    class FundingRequested(Aggregate.Event):
        slots: int
        commission_minor: int
        fee_minor: int
        attempt: int

        def apply(self, aggregate: SettlementSaga) -> None:
            aggregate.state = SagaState.REQUESTED
            aggregate.slots = self.slots
            aggregate.slot_minor = self.commission_minor + self.fee_minor
            aggregate.attempts = self.attempt

    @property
    def required_minor(self) -> int:
        """What funding the task takes: ``slots x (commission + fee)``."""
        return self.slots * self.slot_minor

    def reserve(self) -> None:
        """Step ``reserve_escrow`` succeeded; the hold is saved together with this event."""
        self._require(SagaState.REQUESTED, step="reserve")
        self.trigger_event(
            self.FundsReserved,
            task_id=self.task_id,
            owner_id=self.owner_id,
            amount_minor=self.required_minor,
            currency=self.currency,
            slots=self.slots,
        )

    class FundsReserved(Aggregate.Event):
        task_id: str
        owner_id: str
        amount_minor: int
        currency: str
        slots: int

        def apply(self, aggregate: SettlementSaga) -> None:
            aggregate.state = SagaState.RESERVED

    def reject(self, shortfall_minor: int) -> None:
        """Step ``reserve_escrow`` failed: the owner lacks ``shortfall_minor``; nothing held."""
        self._require(SagaState.REQUESTED, step="reject")
        required = self.required_minor
        self.trigger_event(
            self.FundsRejected,
            task_id=self.task_id,
            owner_id=self.owner_id,
            required_minor=required,
            available_minor=required - shortfall_minor,
            shortfall_minor=shortfall_minor,
            currency=self.currency,
        )

    class FundsRejected(Aggregate.Event):
        task_id: str
        owner_id: str
        required_minor: int
        available_minor: int
        shortfall_minor: int
        currency: str

        def apply(self, aggregate: SettlementSaga) -> None:
            aggregate.state = SagaState.REJECTED

    # ------------------------------------------------------------------ per order

    def outcome(self, order_id: str) -> OrderOutcome | None:
        """How ``order_id``'s slot left escrow, if it did."""
        return self.orders.get(order_id)

    def settle_commission(
        self, order_id: str, provider_id: str, commission_minor: int, fee_minor: int
    ) -> None:
        """Step ``settle_commission``: record a settlement whose postings share this save."""
        self._require_open_order(order_id)
        self.trigger_event(
            self.CommissionSettled,
            task_id=self.task_id,
            order_id=order_id,
            provider_id=provider_id,
            commission_minor=commission_minor,
            fee_minor=fee_minor,
            currency=self.currency,
        )

    class OrderPaid(Aggregate.Event):
        """Order ``order_id``'s slot left escrow with outcome ``OUTCOME``."""

        OUTCOME: ClassVar[OrderOutcome]
        task_id: str
        order_id: str
        provider_id: str
        fee_minor: int
        currency: str

        def apply(self, aggregate: SettlementSaga) -> None:
            aggregate.orders[self.order_id] = self.OUTCOME

    class CommissionSettled(OrderPaid):
        OUTCOME = OrderOutcome.SETTLED
        commission_minor: int

    def execute_outcome(
        self,
        order_id: str,
        provider_id: str,
        provider_share_percent: int,
        provider_minor: int,
        fee_minor: int,
        refunded_minor: int,
    ) -> None:
        """Step ``execute_outcome``: a dispute resolution paid the order's slot."""
        self._require_open_order(order_id)
        self.trigger_event(
            self.DisputeOutcomeExecuted,
            task_id=self.task_id,
            order_id=order_id,
            provider_id=provider_id,
            provider_share_percent=provider_share_percent,
            provider_minor=provider_minor,
            fee_minor=fee_minor,
            refunded_minor=refunded_minor,
            currency=self.currency,
        )

    class DisputeOutcomeExecuted(OrderPaid):
        OUTCOME = OrderOutcome.RESOLVED
        provider_share_percent: int
        provider_minor: int
        refunded_minor: int

    # ------------------------------------------------------------------ release_unused

    def close(self, reason: str, released_slots: int, refund_minor: int) -> None:
        """The task ended (``reason``): record the refund of unused slots, then close."""
        if self.state is SagaState.CLOSED:
            raise IllegalSagaStep(f"the saga of task {self.task_id!r} is already closed")
        if released_slots:
            self._require(SagaState.RESERVED, step="release unused escrow")
            self.trigger_event(
                self.EscrowRefunded,
                task_id=self.task_id,
                owner_id=self.owner_id,
                amount_minor=refund_minor,
                currency=self.currency,
                slots=released_slots,
                reason=reason,
            )
        self.trigger_event(self.Closed, reason=reason)

    class EscrowRefunded(Aggregate.Event):
        """Unused slots went back to the owner (the postings share this save)."""

        task_id: str
        owner_id: str
        amount_minor: int
        currency: str
        slots: int
        reason: str

    class Closed(Aggregate.Event):
        reason: str

        def apply(self, aggregate: SettlementSaga) -> None:
            aggregate.state = SagaState.CLOSED

    # ------------------------------------------------------------------ guards

    def _require(self, *allowed: SagaState, step: str) -> None:
        if self.state not in allowed:
            raise IllegalSagaStep(
                f"cannot {step}: the saga of task {self.task_id!r} is {self.state}"
            )

    def _require_open_order(self, order_id: str) -> None:
        self._require(SagaState.RESERVED, step=f"pay order {order_id!r}")
        if order_id in self.orders:
            raise IllegalSagaStep(f"order {order_id!r} was already {self.orders[order_id]}")


class IllegalSagaStep(LedgerError):
    """A step does not fit the saga's state (e.g. settling an order of an unfunded task)."""

    code = "illegal_saga_step"
