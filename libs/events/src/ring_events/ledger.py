"""Public events of the ledger context (topic ``ring.ledger.events``): money facts.

Deposits, task escrow (reserved, rejected, settled, refunded), dispute outcomes and payouts.
Money is integer minor units plus an ISO 4217 currency; ids are UUIDs. The message key is the id
of the ledger aggregate that recorded the fact: the task's settlement saga for escrow events,
the deposit or the withdrawal otherwise.
"""

from __future__ import annotations

from ring_events.base import (
    Currency,
    Id,
    Instant,
    IntegrationEvent,
    MinorUnits,
    Percent,
    PositiveCount,
)


class FundsDeposited(IntegrationEvent, frozen=True, kw_only=True, tag="ledger.funds_deposited.v1"):
    """The payment provider confirmed a deposit; the party's available balance grew."""

    deposit_id: Id
    party_id: Id
    amount_minor: MinorUnits
    currency: Currency
    provider: str
    provider_reference: str


class FundsReserved(IntegrationEvent, frozen=True, kw_only=True, tag="ledger.funds_reserved.v1"):
    """Escrow holds ``slots x (commission + fee)`` of the task, taken from the owner."""

    task_id: Id
    owner_id: Id
    amount_minor: MinorUnits
    currency: Currency
    slots: PositiveCount


class FundsRejected(IntegrationEvent, frozen=True, kw_only=True, tag="ledger.funds_rejected.v1"):
    """The owner's available balance could not cover the task's escrow; nothing was held."""

    task_id: Id
    owner_id: Id
    required_minor: MinorUnits
    available_minor: MinorUnits
    shortfall_minor: MinorUnits
    currency: Currency


class CommissionSettled(
    IntegrationEvent, frozen=True, kw_only=True, tag="ledger.commission_settled.v1"
):
    """An approved order's slot left escrow: the commission to the provider, the fee to Ring."""

    task_id: Id
    order_id: Id
    provider_id: Id
    commission_minor: MinorUnits
    fee_minor: MinorUnits
    currency: Currency


class EscrowRefunded(IntegrationEvent, frozen=True, kw_only=True, tag="ledger.escrow_refunded.v1"):
    """Unused slots of a task that ended went back to the owner's available balance."""

    task_id: Id
    owner_id: Id
    amount_minor: MinorUnits
    currency: Currency
    slots: PositiveCount


class DisputeOutcomeExecuted(
    IntegrationEvent, frozen=True, kw_only=True, tag="ledger.dispute_outcome_executed.v1"
):
    """A dispute resolution (release 100 %, refund 0 %, split n %) paid one order's slot."""

    task_id: Id
    order_id: Id
    provider_id: Id
    provider_share_percent: Percent
    provider_minor: MinorUnits
    fee_minor: MinorUnits
    refunded_minor: MinorUnits
    currency: Currency


class WithdrawalRequested(
    IntegrationEvent, frozen=True, kw_only=True, tag="ledger.withdrawal_requested.v1"
):
    """A payout was reserved from the party's available balance; it clears at ``clears_at``."""

    withdrawal_id: Id
    party_id: Id
    amount_minor: MinorUnits
    currency: Currency
    clears_at: Instant


class WithdrawalPaid(IntegrationEvent, frozen=True, kw_only=True, tag="ledger.withdrawal_paid.v1"):
    """The payout left the platform after its clearance period."""

    withdrawal_id: Id
    party_id: Id
    amount_minor: MinorUnits
    currency: Currency


class WithdrawalCancelled(
    IntegrationEvent, frozen=True, kw_only=True, tag="ledger.withdrawal_cancelled.v1"
):
    """The payout was cancelled before it was paid; the amount is available again."""

    withdrawal_id: Id
    party_id: Id
    amount_minor: MinorUnits
    currency: Currency


#: Every message on ``ring.ledger.events``.
LedgerEvent = (
    FundsDeposited
    | FundsReserved
    | FundsRejected
    | CommissionSettled
    | EscrowRefunded
    | DisputeOutcomeExecuted
    | WithdrawalRequested
    | WithdrawalPaid
    | WithdrawalCancelled
)
