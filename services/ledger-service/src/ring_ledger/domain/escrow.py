"""Escrow: a task's pre-funded obligations, mirrored by the task's escrow account.

Model chosen
    Funding a task is a *posted* transfer of ``slots x (commission + fee)`` from Party A's
    available account into a per-task escrow account (owner = task id). Each slot later leaves
    the escrow account exactly once: settled (commission to B, fee to the platform), resolved by
    a dispute (split between B, the platform and A), or released unused (all back to A).

    The alternative — one TigerBeetle pending hold on A's account per task — fits badly: the
    hold's credit account (Party B) is unknown when the task is funded, a hold can be resolved
    only once while a task settles slot by slot, and "what is in escrow for task T" would be
    scattered over A's pending totals. With an escrow account per task, ``ledger check`` is one
    comparison per task: ``escrow account balance == open_slots x (commission + fee)``, where
    ``open_slots = slots - settled/resolved orders - released slots`` comes from this aggregate.

This aggregate records the obligations and guards "at most once per order / per release";
the money itself moves through :mod:`ring_ledger.domain.posting` in the same atomic save.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ring_ledger.domain.errors import LedgerError
from ring_ledger.domain.ids import derive_id
from ring_ledger.domain.money import check_amount, split_share
from ring_ledger.domain.results import Release, Reserved, Settlement


def escrow_uuid(task_id: str) -> UUID:
    """The Escrow aggregate id of ``task_id``."""
    return derive_id("escrow", task_id)


class Escrow(Aggregate):
    """What a task's escrow still owes: open slots of commission plus fee."""

    @staticmethod
    def create_id(task_id: str, **_: Any) -> UUID:
        """One escrow per task."""
        return escrow_uuid(task_id)

    class Funded(Aggregate.Created):
        task_id: str
        owner_id: str
        currency: str
        slots: int
        commission_minor: int
        fee_minor: int

    def __init__(
        self,
        task_id: str,
        owner_id: str,
        currency: str,
        slots: int,
        commission_minor: int,
        fee_minor: int,
    ) -> None:
        self.task_id = task_id
        self.owner_id = owner_id
        self.currency = currency
        self.slots = check_amount(slots)
        self.commission_minor = check_amount(commission_minor)
        self.fee_minor = check_amount(fee_minor, allow_zero=True)
        self.outcomes: dict[str, Settlement] = {}
        self.releases: dict[str, Release] = {}

    @property
    def slot_minor(self) -> int:
        """What one slot holds: commission plus platform fee."""
        return self.commission_minor + self.fee_minor

    @property
    def amount_minor(self) -> int:
        """What funding the task took from Party A."""
        return self.slots * self.slot_minor

    @property
    def open_slots(self) -> int:
        """Slots neither settled, resolved nor released."""
        released = sum(release.slots for release in self.releases.values())
        return self.slots - len(self.outcomes) - released

    @property
    def obligation_minor(self) -> int:
        """What the escrow account must hold: open slots x (commission + fee)."""
        return self.open_slots * self.slot_minor

    @property
    def reserved(self) -> Reserved:
        """The original funding result."""
        return Reserved(
            self.task_id,
            self.owner_id,
            self.amount_minor,
            self.currency,
            self.slots,
            self.commission_minor,
            self.fee_minor,
        )

    def outcome(self, order_id: str) -> Settlement | None:
        """How ``order_id`` was settled, if it was."""
        return self.outcomes.get(order_id)

    def plan_settlement(
        self, order_id: str, provider_id: str, provider_share_percent: int
    ) -> Settlement:
        """Compute (without recording) how one slot is paid out for ``order_id``.

        The provider gets ``floor(commission x pct / 100)``; the platform keeps
        ``floor(fee x pct / 100)`` (A pays the fee only on the part of the work paid for);
        everything else goes back to Party A.
        """
        if order_id in self.outcomes:
            raise OrderAlreadySettled(f"order {order_id!r} of task {self.task_id!r} is settled")
        if self.open_slots < 1:
            raise NoOpenSlot(f"task {self.task_id!r} has no open slot left in escrow")
        provider_minor, commission_back = split_share(self.commission_minor, provider_share_percent)
        fee_kept, fee_back = split_share(self.fee_minor, provider_share_percent)
        return Settlement(
            task_id=self.task_id,
            order_id=order_id,
            provider_id=provider_id,
            provider_share_percent=provider_share_percent,
            provider_minor=provider_minor,
            fee_minor=fee_kept,
            refund_minor=commission_back + fee_back,
            currency=self.currency,
        )

    def settle(self, order_id: str, provider_id: str, provider_share_percent: int) -> Settlement:
        """Record that one slot was paid out for ``order_id`` (at most once per order)."""
        plan = self.plan_settlement(order_id, provider_id, provider_share_percent)
        self.trigger_event(
            self.OrderSettled,
            order_id=order_id,
            provider_id=provider_id,
            provider_share_percent=provider_share_percent,
            provider_minor=plan.provider_minor,
            fee_minor=plan.fee_minor,
            refund_minor=plan.refund_minor,
        )
        return plan

    class OrderSettled(Aggregate.Event):
        order_id: str
        provider_id: str
        provider_share_percent: int
        provider_minor: int
        fee_minor: int
        refund_minor: int

        def apply(self, aggregate: Escrow) -> None:
            aggregate.outcomes[self.order_id] = Settlement(
                aggregate.task_id,
                self.order_id,
                self.provider_id,
                self.provider_share_percent,
                self.provider_minor,
                self.fee_minor,
                self.refund_minor,
                aggregate.currency,
            )

    def plan_release(self, release_id: str, slots: int | None) -> Release:
        """Compute (without recording) the refund of ``slots`` unused slots (None = all open)."""
        count = self.open_slots if slots is None else check_amount(slots)
        if count > self.open_slots:
            raise ReleaseExceedsOpenSlots(
                f"cannot release {count} slots of task {self.task_id!r}: {self.open_slots} open"
            )
        return Release(self.task_id, release_id, count, count * self.slot_minor, self.currency)

    def release(self, release_id: str, slots: int | None) -> Release:
        """Record the refund of unused slots to Party A under ``release_id``."""
        plan = self.plan_release(release_id, slots)
        if plan.slots:
            self.trigger_event(
                self.SlotsReleased,
                release_id=release_id,
                slots=plan.slots,
                refund_minor=plan.refund_minor,
            )
        return plan

    class SlotsReleased(Aggregate.Event):
        release_id: str
        slots: int
        refund_minor: int

        def apply(self, aggregate: Escrow) -> None:
            aggregate.releases[self.release_id] = Release(
                aggregate.task_id,
                self.release_id,
                self.slots,
                self.refund_minor,
                aggregate.currency,
            )


class OrderAlreadySettled(LedgerError):
    """An order's slot already left escrow (differently from this request)."""

    code = "order_already_settled"


class NoOpenSlot(LedgerError):
    """Every slot of the task is already settled or released."""

    code = "no_open_slot"


class ReleaseExceedsOpenSlots(LedgerError):
    """A release asks for more slots than are still open."""

    code = "release_exceeds_open_slots"


class EscrowNotFound(LedgerError):
    """No escrow was funded for the task."""

    code = "escrow_not_found"
