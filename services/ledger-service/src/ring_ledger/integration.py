"""Which private domain events the ledger publishes, and as which public events.

The mapping is by domain event class: a class is always published or never. Account postings,
transfers, escrow bookkeeping and wallets stay private; other contexts need the SettlementSaga's
step outcomes, confirmed deposits and payouts. The outbox relay uses :data:`TOPIC` and
:data:`DOMAIN_TO_PUBLIC`; the message key is the aggregate id (the task's saga, the deposit or
the withdrawal).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from ring_events import ledger as public
from ring_events.base import IntegrationEvent
from ring_events.topics import LEDGER_EVENTS
from ring_ledger.domain import Deposit, SettlementSaga, Withdrawal

#: The topic the ledger publishes to.
TOPIC = LEDGER_EVENTS


def _funds_deposited(e: Any) -> public.FundsDeposited:
    return public.FundsDeposited(
        deposit_id=e.originator_id,
        party_id=UUID(e.party_id),
        amount_minor=e.amount_minor,
        currency=e.currency,
        provider=e.provider,
        provider_reference=e.provider_reference,
        occurred_at=e.timestamp,
    )


def _funds_reserved(e: Any) -> public.FundsReserved:
    return public.FundsReserved(
        task_id=UUID(e.task_id),
        owner_id=UUID(e.owner_id),
        amount_minor=e.amount_minor,
        currency=e.currency,
        slots=e.slots,
        occurred_at=e.timestamp,
    )


def _funds_rejected(e: Any) -> public.FundsRejected:
    return public.FundsRejected(
        task_id=UUID(e.task_id),
        owner_id=UUID(e.owner_id),
        required_minor=e.required_minor,
        available_minor=e.available_minor,
        shortfall_minor=e.shortfall_minor,
        currency=e.currency,
        occurred_at=e.timestamp,
    )


def _commission_settled(e: Any) -> public.CommissionSettled:
    return public.CommissionSettled(
        task_id=UUID(e.task_id),
        order_id=UUID(e.order_id),
        provider_id=UUID(e.provider_id),
        commission_minor=e.commission_minor,
        fee_minor=e.fee_minor,
        currency=e.currency,
        occurred_at=e.timestamp,
    )


def _escrow_refunded(e: Any) -> public.EscrowRefunded:
    return public.EscrowRefunded(
        task_id=UUID(e.task_id),
        owner_id=UUID(e.owner_id),
        amount_minor=e.amount_minor,
        currency=e.currency,
        slots=e.slots,
        occurred_at=e.timestamp,
    )


def _dispute_outcome_executed(e: Any) -> public.DisputeOutcomeExecuted:
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


def _withdrawal_requested(e: Any) -> public.WithdrawalRequested:
    return public.WithdrawalRequested(
        withdrawal_id=e.originator_id,
        party_id=UUID(e.party_id),
        amount_minor=e.amount_minor,
        currency=e.currency,
        clears_at=e.clears_at,
        occurred_at=e.timestamp,
    )


def _withdrawal_paid(e: Any) -> public.WithdrawalPaid:
    return public.WithdrawalPaid(
        withdrawal_id=e.originator_id,
        party_id=UUID(e.party_id),
        amount_minor=e.amount_minor,
        currency=e.currency,
        occurred_at=e.timestamp,
    )


def _withdrawal_cancelled(e: Any) -> public.WithdrawalCancelled:
    return public.WithdrawalCancelled(
        withdrawal_id=e.originator_id,
        party_id=UUID(e.party_id),
        amount_minor=e.amount_minor,
        currency=e.currency,
        occurred_at=e.timestamp,
    )


#: Published domain event class → the function building its public event.
DOMAIN_TO_PUBLIC: dict[type[Any], Callable[[Any], IntegrationEvent]] = {
    Deposit.Confirmed: _funds_deposited,  # type: ignore[attr-defined]
    SettlementSaga.FundsReserved: _funds_reserved,  # type: ignore[attr-defined]
    SettlementSaga.FundsRejected: _funds_rejected,  # type: ignore[attr-defined]
    SettlementSaga.CommissionSettled: _commission_settled,  # type: ignore[attr-defined]
    SettlementSaga.EscrowRefunded: _escrow_refunded,  # type: ignore[attr-defined]
    SettlementSaga.DisputeOutcomeExecuted: _dispute_outcome_executed,  # type: ignore[attr-defined]
    Withdrawal.Requested: _withdrawal_requested,  # type: ignore[attr-defined]
    Withdrawal.Paid: _withdrawal_paid,  # type: ignore[attr-defined]
    Withdrawal.Cancelled: _withdrawal_cancelled,  # type: ignore[attr-defined]
}


def to_public(domain_event: object) -> IntegrationEvent | None:
    """The public event for ``domain_event``, or ``None`` when its class is private."""
    translate = DOMAIN_TO_PUBLIC.get(type(domain_event))
    return translate(domain_event) if translate else None
