"""The SettlementSaga, top to bottom: trigger → step → postings → compensation.

**Trigger.** Task and dispute events, each calling ONE :class:`~ring_ledger.application.Ledger`
command (subscriptions in :mod:`ring_ledger.consumers`):

==========================  ==============================  ===================================
event                       Ledger command                  step (saga events recorded)
==========================  ==============================  ===================================
``task.publish_requested``  ``request_funding``             :func:`request_funding`
                                                            (``Started``, ``FundingRequested``,
                                                            ``FundsReserved``/``FundsRejected``)
``order.approved``          ``settle_commission``           :func:`settle_commission`
                                                            (``CommissionSettled``)
``dispute.resolved``        ``execute_dispute_outcome``     :func:`execute_outcome`
                                                            (``DisputeOutcomeExecuted``)
``task.cancelled`` /        ``release_unused_escrow``       :func:`release_unused`
``task.completed``                                          (``EscrowRefunded``, ``Closed``)
==========================  ==============================  ===================================

**Step and postings.** Each step function decides the saga event together with its postings
(the escrow hold, the settlement legs, the release: :func:`stage_hold`,
:func:`stage_resolution`, :func:`stage_release`, below) and returns them staged; the command
commits them in ONE save. Inside a consumer that save also carries the consumer's tracking
position, so a step happens exactly once under redelivery, republish, and a crash (even
SIGKILL) between any two steps: either the step, its postings and the position are all
recorded, or none is and the message is processed again.

**Compensation.** :func:`release_unused` compensates ``reserve_escrow``. Slot accounting
(decided with the task service, whose freed slots can be taken again while the task is open):
a slot whose order ends unpaid (declined, expired, cancelled) stays in escrow; the unused
escrow is released once, when the task ends (cancelled or completed). On ``task.expired`` no
money moves: open orders run to their end, and the task completes after the last one, which
releases whatever is left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ring_ledger.domain import (
    AccountKey,
    Escrow,
    IllegalSagaStep,
    LedgerError,
    OrderAlreadySettled,
    Purpose,
    Rejected,
    Release,
    Reserved,
    SagaState,
    Settlement,
    SettlementSaga,
    TransferIdReused,
    Wallet,
)
from ring_ledger.domain.escrow import escrow_uuid
from ring_ledger.domain.ids import reference
from ring_ledger.domain.money import check_amount, check_currency, check_percent
from ring_ledger.domain.posting import make_transfer
from ring_ledger.domain.saga import saga_uuid
from ring_ledger.domain.wallet import wallet_uuid
from ring_ledger.steps import AccountSet, Staged

if TYPE_CHECKING:
    from ring_ledger.application import Ledger

# ------------------------------------------------------------------------- reserve_escrow


def request_funding(
    ledger: Ledger,
    task_id: str,
    owner_id: str,
    slots: int,
    commission_minor: int,
    fee_minor: int,
    currency: str,
) -> Staged[Reserved | Rejected | None]:
    """Step ``reserve_escrow``: hold the task's escrow, or record the rejection.

    Stages None when the saga is past funding (a stale request): nothing happens.
    """
    saga = _find_saga(ledger, task_id)
    if saga is None:
        saga = SettlementSaga(task_id=task_id, owner_id=owner_id, currency=currency)
    elif not saga.can_request_funding:
        return Staged(None)
    saga.request_funding(slots, commission_minor, fee_minor)
    hold = stage_hold(ledger, task_id, owner_id, slots, commission_minor, fee_minor, currency)
    if isinstance(hold.result, Reserved):
        saga.reserve()
    else:
        saga.reject(hold.result.shortfall_minor)
    return Staged(hold.result, (saga, *hold.changes))


def stage_hold(
    ledger: Ledger,
    task_id: str,
    owner_id: str,
    slots: int,
    commission_minor: int,
    fee_minor: int,
    currency: str,
) -> Staged[Reserved | Rejected]:
    """Postings: ``slots x (commission + fee)`` from A's available into the task's escrow.

    :class:`Rejected` (with the exact shortfall) stages nothing. Idempotent on ``task_id``.
    """
    check_amount(slots)
    check_amount(commission_minor)
    check_amount(fee_minor, allow_zero=True)
    check_currency(currency)
    amount_minor = slots * (commission_minor + fee_minor)
    wanted = Reserved(task_id, owner_id, amount_minor, currency, slots, commission_minor, fee_minor)
    escrow = ledger.find(Escrow, escrow_uuid(task_id))
    if escrow is not None:
        if escrow.reserved != wanted:
            raise TransferIdReused(f"task {task_id!r} was funded with other terms")
        return Staged(escrow.reserved)
    accounts = AccountSet(ledger)
    available = accounts.get(AccountKey.available(owner_id, currency))
    shortfall = available.shortfall(amount_minor)
    if shortfall:
        return Staged(Rejected(task_id, shortfall, currency))
    escrow_account = accounts.get(AccountKey.escrow(task_id, currency))
    transfer = make_transfer(
        reference("escrow-hold", task_id),
        available,
        escrow_account,
        amount_minor,
        "escrow_hold",
    )
    escrow = Escrow(
        task_id=task_id,
        owner_id=owner_id,
        currency=currency,
        slots=slots,
        commission_minor=commission_minor,
        fee_minor=fee_minor,
    )
    wallet = ledger.find(Wallet, wallet_uuid(owner_id, currency))
    wallet = wallet or Wallet(party_id=owner_id, currency=currency)
    wallet.add_escrow(task_id)
    return Staged(escrow.reserved, (*accounts, transfer, escrow, wallet))


# ------------------------------------------------------------------------- settle_commission


def settle_commission(
    ledger: Ledger,
    task_id: str,
    order_id: str,
    provider_id: str,
    commission_minor: int,
    fee_minor: int,
) -> Staged[Settlement]:
    """Step ``settle_commission`` (``order.approved``): the full commission to B, the fee to Ring.

    ``commission_minor`` and ``fee_minor`` come with the approval and must match the escrow's
    terms. At most once per order; a repeat returns the original settlement.
    """
    saga = _require_saga(ledger, task_id)
    paid = stage_resolution(ledger, task_id, order_id, provider_id, 100)
    if saga.outcome(order_id) is not None:
        return Staged(paid.result)
    plan = paid.result
    if (plan.provider_minor, plan.fee_minor) != (commission_minor, fee_minor):
        raise SettlementTermsMismatch(
            f"order {order_id!r} was approved for {commission_minor} + {fee_minor} fee, "
            f"but task {task_id!r} escrows {plan.provider_minor} + {plan.fee_minor}"
        )
    saga.settle_commission(order_id, provider_id, plan.provider_minor, plan.fee_minor)
    return Staged(plan, (saga, *paid.changes))


def execute_outcome(
    ledger: Ledger, task_id: str, order_id: str, provider_id: str, provider_share_percent: int
) -> Staged[Settlement]:
    """Step ``execute_outcome`` (``dispute.resolved``): release 100, refund 0, split n.

    B gets ``floor(commission x n / 100)``, Ring ``floor(fee x n / 100)``, A the rest.
    """
    saga = _require_saga(ledger, task_id)
    paid = stage_resolution(ledger, task_id, order_id, provider_id, provider_share_percent)
    if saga.outcome(order_id) is not None:
        return Staged(paid.result)
    plan = paid.result
    saga.execute_outcome(
        order_id,
        provider_id,
        provider_share_percent,
        plan.provider_minor,
        plan.fee_minor,
        plan.refund_minor,
    )
    return Staged(plan, (saga, *paid.changes))


def stage_resolution(
    ledger: Ledger, task_id: str, order_id: str, provider_id: str, provider_share_percent: int
) -> Staged[Settlement]:
    """Postings of one slot: ``pct`` of the commission to B, of the fee to Ring, the rest to A.

    At most once per order; a repeat with the same provider and percent stages nothing.
    """
    check_percent(provider_share_percent)
    escrow = ledger.require_escrow(task_id)
    done = escrow.outcome(order_id)
    if done is not None:
        if (done.provider_id, done.provider_share_percent) != (
            provider_id,
            provider_share_percent,
        ):
            raise OrderAlreadySettled(f"order {order_id!r} was settled differently")
        return Staged(done)
    plan = escrow.settle(order_id, provider_id, provider_share_percent)
    accounts = AccountSet(ledger)
    source = accounts.get(AccountKey.escrow(task_id, escrow.currency))
    currency = escrow.currency
    legs = (
        ("commission", AccountKey.available(provider_id, currency), plan.provider_minor),
        ("fee", AccountKey.platform(Purpose.FEE_REVENUE, currency), plan.fee_minor),
        ("refund", AccountKey.available(escrow.owner_id, currency), plan.refund_minor),
    )
    transfers = [
        make_transfer(
            reference("settle", task_id, order_id, leg),
            source,
            accounts.get(key),
            amount,
            f"settlement_{leg}",
        )
        for leg, key, amount in legs
        if amount
    ]
    return Staged(plan, (escrow, *accounts, *transfers))


# ------------------------------------------------------------------------- compensation


def release_unused(ledger: Ledger, task_id: str, reason: str) -> Staged[Release | None]:
    """Compensation ``release_unused`` (of ``reserve_escrow``): the task ended.

    Every open slot goes back to the owner and the saga closes. Stages None when there is
    nothing to release: the task was never funded, or the saga is already closed.
    """
    saga = _find_saga(ledger, task_id)
    if saga is None or saga.state is SagaState.CLOSED:
        return Staged(None)
    if saga.state is not SagaState.RESERVED:
        saga.close(reason, 0, 0)
        return Staged(None, (saga,))
    release = stage_release(ledger, task_id, reason)
    saga.close(reason, release.result.slots, release.result.refund_minor)
    return Staged(release.result, (saga, *release.changes))


def stage_release(ledger: Ledger, task_id: str, release_id: str) -> Staged[Release]:
    """Postings: refund every open slot to A; idempotent on ``release_id``."""
    escrow = ledger.require_escrow(task_id)
    done = escrow.releases.get(release_id)
    if done is not None:
        return Staged(done)
    plan = escrow.release(release_id, None)
    if not plan.slots:
        return Staged(plan)
    accounts = AccountSet(ledger)
    transfer = make_transfer(
        reference("release", task_id, release_id),
        accounts.get(AccountKey.escrow(task_id, escrow.currency)),
        accounts.get(AccountKey.available(escrow.owner_id, escrow.currency)),
        plan.refund_minor,
        "escrow_release",
    )
    return Staged(plan, (escrow, *accounts, transfer))


def _find_saga(ledger: Ledger, task_id: str) -> SettlementSaga | None:
    return ledger.find(SettlementSaga, saga_uuid(task_id))


def _require_saga(ledger: Ledger, task_id: str) -> SettlementSaga:
    saga = _find_saga(ledger, task_id)
    if saga is None:
        raise IllegalSagaStep(f"task {task_id!r} was never funded")
    return saga


class SettlementTermsMismatch(LedgerError):
    """An approval's commission or fee differs from what the task's escrow holds."""

    code = "settlement_terms_mismatch"
