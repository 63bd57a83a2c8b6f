"""Which private domain events the ledger publishes, and as which public events.

The mapping is by domain event class: a class is always published or never. Account postings,
transfers, escrow bookkeeping and wallets stay private; other contexts need the SettlementSaga's
step outcomes, confirmed deposits and payouts. The outbox relay uses :data:`TOPIC` and
:data:`DOMAIN_TO_PUBLIC`; the message key is the aggregate id (the task's saga, the deposit or
the withdrawal).
"""

from __future__ import annotations

from uuid import UUID

from ring_events import ledger as public
from ring_events.base import IntegrationEvent
from ring_events.topics import LEDGER_EVENTS
from ring_ledger.domain import Deposit, SettlementSaga, Withdrawal
from ring_runtime.relay import Translation

#: The topic the ledger publishes to.
TOPIC = LEDGER_EVENTS


def _funds_deposited(e: Deposit.Confirmed) -> public.FundsDeposited:
    return public.FundsDeposited(
        deposit_id=e.originator_id,
        party_id=UUID(e.party_id),
        amount_minor=e.amount_minor,
        currency=e.currency,
        provider=e.provider,
        provider_reference=e.provider_reference,
        occurred_at=e.timestamp,
    )


def _funds_reserved(e: SettlementSaga.FundsReserved) -> public.FundsReserved:
    return public.FundsReserved(
        task_id=UUID(e.task_id),
        owner_id=UUID(e.owner_id),
        amount_minor=e.amount_minor,
        currency=e.currency,
        slots=e.slots,
        occurred_at=e.timestamp,
    )


def _funds_rejected(e: SettlementSaga.FundsRejected) -> public.FundsRejected:
    return public.FundsRejected(
        task_id=UUID(e.task_id),
        owner_id=UUID(e.owner_id),
        required_minor=e.required_minor,
        available_minor=e.available_minor,
        shortfall_minor=e.shortfall_minor,
        currency=e.currency,
        occurred_at=e.timestamp,
    )


def _commission_settled(e: SettlementSaga.CommissionSettled) -> public.CommissionSettled:
    return public.CommissionSettled(
        task_id=UUID(e.task_id),
        order_id=UUID(e.order_id),
        provider_id=UUID(e.provider_id),
        commission_minor=e.commission_minor,
        fee_minor=e.fee_minor,
        currency=e.currency,
        occurred_at=e.timestamp,
    )


def _escrow_refunded(e: SettlementSaga.EscrowRefunded) -> public.EscrowRefunded:
    return public.EscrowRefunded(
        task_id=UUID(e.task_id),
        owner_id=UUID(e.owner_id),
        amount_minor=e.amount_minor,
        currency=e.currency,
        slots=e.slots,
        occurred_at=e.timestamp,
    )


def _dispute_outcome_executed(
    e: SettlementSaga.DisputeOutcomeExecuted,
) -> public.DisputeOutcomeExecuted:
    return public.DisputeOutcomeExecuted(
        task_id=UUID(e.task_id),
        order_id=UUID(e.order_id),
        provider_id=UUID(e.provider_id),
        provider_share_percent=e.provider_share_percent,
        provider_minor=e.provider_minor,
        fee_minor=e.fee_minor,
        refunded_minor=e.refunded_minor,
        currency=e.currency,
        occurred_at=e.timestamp,
    )


def _withdrawal_requested(e: Withdrawal.Requested) -> public.WithdrawalRequested:
    return public.WithdrawalRequested(
        withdrawal_id=e.originator_id,
        party_id=UUID(e.party_id),
        amount_minor=e.amount_minor,
        currency=e.currency,
        clears_at=e.clears_at,
        occurred_at=e.timestamp,
    )


def _withdrawal_paid(e: Withdrawal.Paid) -> public.WithdrawalPaid:
    return public.WithdrawalPaid(
        withdrawal_id=e.originator_id,
        party_id=UUID(e.party_id),
        amount_minor=e.amount_minor,
        currency=e.currency,
        occurred_at=e.timestamp,
    )


def _withdrawal_cancelled(e: Withdrawal.Cancelled) -> public.WithdrawalCancelled:
    return public.WithdrawalCancelled(
        withdrawal_id=e.originator_id,
        party_id=UUID(e.party_id),
        amount_minor=e.amount_minor,
        currency=e.currency,
        occurred_at=e.timestamp,
    )


#: Published domain event class → the function building its public event.
DOMAIN_TO_PUBLIC: dict[type[object], Translation] = {
    Deposit.Confirmed: _funds_deposited,
    SettlementSaga.FundsReserved: _funds_reserved,
    SettlementSaga.FundsRejected: _funds_rejected,
    SettlementSaga.CommissionSettled: _commission_settled,
    SettlementSaga.EscrowRefunded: _escrow_refunded,
    SettlementSaga.DisputeOutcomeExecuted: _dispute_outcome_executed,
    Withdrawal.Requested: _withdrawal_requested,
    Withdrawal.Paid: _withdrawal_paid,
    Withdrawal.Cancelled: _withdrawal_cancelled,
}


def to_public(domain_event: object) -> IntegrationEvent | None:
    """The public event for ``domain_event``, or ``None`` when its class is private."""
    translate = DOMAIN_TO_PUBLIC.get(type(domain_event))
    return translate(domain_event) if translate else None
