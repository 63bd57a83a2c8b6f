"""The dispute service's commands: get → act → save, retried on optimistic-concurrency conflicts.

Who may act: the parties of the order (from the service's own order directory) for complaints,
responses, evidence and withdrawal; admins (checked by the gateway, recorded as ``admin_id``)
for resolution. A user outside the order gets "not found" for its disputes, never their content.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from ring_dispute.config import DisputeConfig
from ring_dispute.domain import (
    Dispute,
    DisputeNotFound,
    Docket,
    OrderNotDisputable,
    OrderNotFound,
    docket_id,
)
from ring_dispute.projections import DISPUTABLE, OrderView
from ring_runtime.concurrency import retrying
from ring_runtime.store import RingApplication
from ring_runtime.timers import Clock, SystemClock


class OrderDirectory(Protocol):
    """Where the service learns an order's parties and status (its own read model)."""

    def get(self, order_id: UUID) -> OrderView | None:
        """The order, or None if no event of it has arrived yet."""
        ...


class Disputes(RingApplication):
    """Disputes about orders, from complaint to arbitration."""

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        orders: OrderDirectory | None = None,
        config: DisputeConfig | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(env=env)
        self.orders = orders
        self.config = config or DisputeConfig()
        self.clock: Clock = clock or SystemClock()
        #: Called before reads of the local queue (set by ``main``), so tests see their writes.
        self.catch_up: Callable[[], Any] = lambda: None

    def lifecycle_correlation(self, obj: object) -> str | None:
        """A dispute and its order's docket join the task lifecycle of their order: they are
        recorded under the correlation id the task service published the order under."""
        if isinstance(obj, Dispute | Docket):
            order = self.order(obj.order_id)
            return order.correlation_id if order is not None else None
        return None

    # -- parties -------------------------------------------------------------------------------

    def open_dispute(self, order_id: UUID, actor_id: UUID, category: str, reason: str) -> UUID:
        """A party of the order complains about submitted or rejected work; returns the id."""
        order = self._order_for(order_id, actor_id)
        if order.status not in DISPUTABLE:
            raise OrderNotDisputable(
                f"an order that is {order.status} cannot be disputed; only submitted or "
                "rejected work"
            )
        now = self.clock.now()

        def act() -> UUID:
            docket = self._docket(order_id)
            dispute = Dispute.open(
                order_id=order_id,
                task_id=order.task_id,
                owner_id=order.owner_id,
                provider_id=order.provider_id,
                opened_by=actor_id,
                category=category,
                reason=reason,
                response_window=self.config.response_window,
                at=now,
            )
            docket.file(dispute.id)
            self.save(dispute, docket)
            return dispute.id

        return retrying(act)

    def respond(self, dispute_id: UUID, actor_id: UUID, statement: str) -> Dispute:
        """The other party answers the complaint."""
        now = self.clock.now()
        return self._act(dispute_id, actor_id, lambda d: d.respond(actor_id, statement, now))

    def add_evidence(
        self, dispute_id: UUID, actor_id: UUID, statement: str, sha256: str | None = None
    ) -> Dispute:
        """A party adds a statement, optionally naming a stored file by its SHA-256."""
        now = self.clock.now()
        return self._act(
            dispute_id, actor_id, lambda d: d.add_evidence(actor_id, statement, sha256, now)
        )

    def request_arbitration(self, dispute_id: UUID, actor_id: UUID) -> Dispute:
        """A party asks for arbitration once both sides have spoken."""
        now, window = self.clock.now(), self.config.arbitration_window
        return self._act(
            dispute_id, actor_id, lambda d: d.request_arbitration(actor_id, window, now)
        )

    def withdraw(self, dispute_id: UUID, actor_id: UUID) -> Dispute:
        """The opener withdraws the dispute; the order may be disputed again later. Returns the
        withdrawn dispute."""
        now = self.clock.now()

        def act() -> Dispute:
            dispute = self.get_dispute_for(dispute_id, actor_id)
            dispute.withdraw(actor_id, now)
            docket = self._docket(dispute.order_id)
            docket.close(dispute.id, resolved=False)
            self.save(dispute, docket)
            return dispute

        return retrying(act)

    def get_dispute_for(self, dispute_id: UUID, actor_id: UUID) -> Dispute:
        """The dispute, if ``actor_id`` is a party of its order (else "not found")."""
        dispute = self.get_dispute(dispute_id)
        if not dispute.is_party(actor_id):
            raise DisputeNotFound(f"dispute {dispute_id} not found")
        return dispute

    # -- admins and timers ---------------------------------------------------------------------

    def resolve(
        self,
        dispute_id: UUID,
        admin_id: UUID,
        outcome: str,
        provider_share_percent: int | None = None,
    ) -> Dispute:
        """An admin decides: release, refund or split; the ledger executes it. Returns the
        resolved dispute."""
        now = self.clock.now()

        def act() -> Dispute:
            dispute = self.get_dispute(dispute_id)
            dispute.resolve(admin_id, outcome, provider_share_percent, now)
            docket = self._docket(dispute.order_id)
            docket.close(dispute.id, resolved=True)
            self.save(dispute, docket)
            return dispute

        return retrying(act)

    def escalate_at_deadline(self, dispute_id: UUID) -> None:
        """The response deadline passed: to arbitration. Idempotent (timer handler)."""
        now, window = self.clock.now(), self.config.arbitration_window

        def act() -> None:
            dispute = self.get_dispute(dispute_id)
            if dispute.escalate_at_deadline(window, now):
                self.save(dispute)

        retrying(act)

    def get_dispute(self, dispute_id: UUID) -> Dispute:
        """The current state of a dispute."""
        try:
            dispute: object = self.repository.get(dispute_id)
        except AggregateNotFoundError:
            raise DisputeNotFound(f"dispute {dispute_id} not found") from None
        if not isinstance(dispute, Dispute):
            raise DisputeNotFound(f"dispute {dispute_id} not found")
        return dispute

    def order(self, order_id: UUID) -> OrderView | None:
        """The order as the directory knows it (None before its first event arrived)."""
        return self.orders.get(order_id) if self.orders is not None else None

    # -- plumbing ------------------------------------------------------------------------------

    def _order_for(self, order_id: UUID, actor_id: UUID) -> OrderView:
        order = self.order(order_id)
        if order is None or actor_id not in (order.owner_id, order.provider_id):
            raise OrderNotFound(f"order {order_id} not found")
        return order

    def _docket(self, order_id: UUID) -> Docket:
        try:
            docket: object = self.repository.get(docket_id(order_id))
        except AggregateNotFoundError:
            return Docket(order_id=order_id)
        assert isinstance(docket, Docket)
        return docket

    def _act(self, dispute_id: UUID, actor_id: UUID, change: Callable[[Dispute], None]) -> Dispute:
        """Load the dispute once for a party, change and save it; returns it, so the answer
        needs no second load."""

        def act() -> Dispute:
            dispute = self.get_dispute_for(dispute_id, actor_id)
            change(dispute)
            self.save(dispute)
            return dispute

        return retrying(act)
