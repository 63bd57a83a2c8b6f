"""A whole order lifecycle as the context services publish it, and who must hear of what."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from ring_events import dispute, ledger, task, voucher
from ring_events.envelope import Envelope
from ring_events.topics import DISPUTE_EVENTS, LEDGER_EVENTS, TASK_EVENTS, VOUCHER_EVENTS

from .conftest import Upstream

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

#: What the owner (A) hears of one lifecycle, per source topic, in order.
OWNER_TYPES = [
    "task.published",
    "order.taken",
    "order.accepted",
    "order.submitted",
    "voucher.flagged",
    "dispute.opened",
    "dispute.responded",
    "dispute.resolved",
    "order.approved",
    "order.settled",
]
#: What the provider (B) hears.
PROVIDER_TYPES = [
    "order.taken",
    "order.accepted",
    "order.submitted",
    "dispute.opened",
    "dispute.responded",
    "dispute.resolved",
    "order.approved",
    "order.settled",
    "payout.paid",
]


@dataclass
class Lifecycle:
    """One task with one order between ``owner`` and ``provider``, from funding to payout."""

    owner: UUID
    provider: UUID
    task_id: UUID = field(default_factory=uuid4)
    order_id: UUID = field(default_factory=uuid4)
    voucher_id: UUID = field(default_factory=uuid4)
    dispute_id: UUID = field(default_factory=uuid4)
    withdrawal_id: UUID = field(default_factory=uuid4)

    def envelopes(self, upstream: Upstream) -> list[Envelope]:
        """Every public event of the lifecycle (including some no party is told about)."""
        now = datetime.now(UTC)
        order: dict[str, Any] = {
            "order_id": self.order_id,
            "task_id": self.task_id,
            "owner_id": self.owner,
            "provider_id": self.provider,
            "occurred_at": now,
        }
        money: dict[str, Any] = {"commission_minor": 10_000, "currency": "CNY"}
        t, o, d = (TASK_EVENTS, self.task_id), (TASK_EVENTS, self.order_id), self.dispute_id
        steps = [
            (
                LEDGER_EVENTS,
                uuid4(),
                ledger.FundsDeposited(
                    deposit_id=uuid4(),
                    party_id=self.owner,
                    amount_minor=50_000,
                    currency="CNY",
                    provider="simulated",
                    provider_reference="x",
                    occurred_at=now,
                ),
            ),
            (
                *t,
                task.TaskPublished(
                    task_id=self.task_id,
                    owner_id=self.owner,
                    title="Label images",
                    deadline=now + timedelta(days=3),
                    slots=1,
                    occurred_at=now,
                    **money,
                ),
            ),
            (*o, task.OrderApplied(**order)),
            (*o, task.OrderAccepted(**order)),
            (*o, task.OrderSubmitted(**order, voucher_id=self.voucher_id)),
            (
                VOUCHER_EVENTS,
                self.order_id,
                voucher.VoucherSubmitted(
                    voucher_id=self.voucher_id,
                    order_id=self.order_id,
                    task_id=self.task_id,
                    owner_id=self.owner,
                    provider_id=self.provider,
                    files=(voucher.VoucherFile(sha256=SHA, size=10, content_type="image/png"),),
                    flags=(voucher.DUPLICATE_CONTENT,),
                    occurred_at=now,
                ),
            ),
            (
                DISPUTE_EVENTS,
                d,
                dispute.DisputeOpened(
                    dispute_id=d,
                    order_id=self.order_id,
                    task_id=self.task_id,
                    owner_id=self.owner,
                    provider_id=self.provider,
                    opened_by=self.owner,
                    opener_role="owner",
                    category="quality",
                    reason="reused files",
                    response_due=now + timedelta(days=5),
                    occurred_at=now,
                ),
            ),
            (
                DISPUTE_EVENTS,
                d,
                dispute.DisputeResponded(
                    dispute_id=d,
                    order_id=self.order_id,
                    responded_by=self.provider,
                    statement="they are mine",
                    occurred_at=now,
                ),
            ),
            (
                DISPUTE_EVENTS,
                d,
                dispute.DisputeResolved(
                    dispute_id=d,
                    order_id=self.order_id,
                    task_id=self.task_id,
                    owner_id=self.owner,
                    provider_id=self.provider,
                    outcome="release",
                    provider_share_percent=100,
                    resolved_by=uuid4(),
                    occurred_at=now,
                ),
            ),
            (*o, task.OrderApproved(**order, fee_minor=500, **money)),
            (*o, task.OrderSettled(**order, **money)),
            (
                LEDGER_EVENTS,
                self.withdrawal_id,
                ledger.WithdrawalPaid(
                    withdrawal_id=self.withdrawal_id,
                    party_id=self.provider,
                    amount_minor=4_000,
                    currency="CNY",
                    occurred_at=now,
                ),
            ),
        ]
        return [upstream.envelope(topic, key, event) for topic, key, event in steps]
