"""Posting rules: apply a transfer to both of its accounts, all checks first.

These functions are pure domain logic over already-loaded aggregates. They validate every rule
before mutating anything, then record the transfer and one posting on each account. The caller
saves the transfer and both accounts in one atomic ``save()``; a concurrent change to either
account makes that save fail on the event store's optimistic concurrency, and the caller retries
from fresh state, so two transfers can never both spend the same balance.
"""

from __future__ import annotations

from ring_ledger.domain.accounts import Account, CurrencyMismatch, SameAccountTransfer
from ring_ledger.domain.money import check_amount
from ring_ledger.domain.results import PendingResolved
from ring_ledger.domain.transfers import Transfer, TransferIdReused


def check_transfer(debit: Account, credit: Account, amount_minor: int) -> None:
    """Raise the domain error that forbids moving ``amount_minor`` from ``debit`` to ``credit``."""
    check_amount(amount_minor)
    if debit.id == credit.id:
        raise SameAccountTransfer(f"debit and credit account are both {debit.key}")
    if debit.currency != credit.currency:
        raise CurrencyMismatch(f"cannot move {debit.currency} into a {credit.currency} account")
    debit.check_can_debit(amount_minor)


def make_transfer(
    transfer_id: str,
    debit: Account,
    credit: Account,
    amount_minor: int,
    code: str,
    *,
    pending: bool = False,
) -> Transfer:
    """Create transfer ``transfer_id`` and post (or reserve, if ``pending``) both sides."""
    check_transfer(debit, credit, amount_minor)
    transfer = Transfer(
        transfer_id=transfer_id,
        debit_account_id=debit.id,
        credit_account_id=credit.id,
        amount_minor=amount_minor,
        currency=debit.currency,
        code=code,
        pending=pending,
    )
    if pending:
        debit.reserve_debit(transfer_id, code, amount_minor)
        credit.reserve_credit(transfer_id, code, amount_minor)
    else:
        debit.debit(transfer_id, code, amount_minor)
        credit.credit(transfer_id, code, amount_minor)
    return transfer


def check_same_transfer(
    existing: Transfer,
    debit: Account,
    credit: Account,
    amount_minor: int,
    code: str,
    *,
    pending: bool,
) -> None:
    """Raise :class:`TransferIdReused` unless ``existing`` has exactly these terms."""
    if not existing.has_terms(debit.id, credit.id, amount_minor, debit.currency, code, pending):
        raise TransferIdReused(
            f"transfer id {existing.transfer_id!r} was already used for a different transfer"
        )


def post_pending(
    transfer: Transfer, debit: Account, credit: Account, amount_minor: int | None = None
) -> PendingResolved:
    """Post ``amount_minor`` (default: all) of a pending transfer; release the remainder."""
    amount = transfer.amount_minor if amount_minor is None else amount_minor
    transfer.post(amount)
    reserved = transfer.amount_minor
    debit.resolve_debit(transfer.transfer_id, transfer.code, reserved, amount)
    credit.resolve_credit(transfer.transfer_id, transfer.code, reserved, amount)
    resolution = transfer.resolution
    assert resolution is not None
    return resolution


def void_pending(transfer: Transfer, debit: Account, credit: Account) -> PendingResolved:
    """Void a pending transfer: release the whole amount on both accounts."""
    transfer.void()
    reserved = transfer.amount_minor
    debit.resolve_debit(transfer.transfer_id, transfer.code, reserved, 0)
    credit.resolve_credit(transfer.transfer_id, transfer.code, reserved, 0)
    resolution = transfer.resolution
    assert resolution is not None
    return resolution
