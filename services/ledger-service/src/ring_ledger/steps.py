"""Ledger steps: each decides one money movement and stages it, without saving.

A step is a plain function of the :class:`~ring_ledger.application.Ledger`: it loads what it
needs, applies the domain rules and returns :class:`Staged` (the result and the changed
aggregates). The caller commits one step, or a step together with a saga, deposit or withdrawal
event, in ONE atomic save (:meth:`Ledger.commit`). A step that finds its idempotency key
already used returns the original result and stages nothing. The escrow's steps belong to the
SettlementSaga and live with it in :mod:`ring_ledger.settlement`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from ring_ledger.domain import (
    Account,
    AccountKey,
    PendingResolved,
    Purpose,
    Transfer,
    TransferResult,
    TransferStatus,
)
from ring_ledger.domain.ids import reference
from ring_ledger.domain.posting import (
    check_same_transfer,
    make_transfer,
    post_pending,
    void_pending,
)
from ring_ledger.domain.transfers import transfer_uuid

if TYPE_CHECKING:
    from ring_ledger.application import Ledger

T = TypeVar("T")


@dataclass(frozen=True)
class Staged(Generic[T]):
    """A decided command: its result and the aggregates to save (none for a repeat)."""

    result: T
    changes: Sequence[Aggregate] = field(default_factory=tuple)

    def __add__(self, other: Staged[Any]) -> Staged[T]:
        """These changes followed by ``other``'s, keeping this result."""
        return Staged(self.result, (*self.changes, *other.changes))


class AccountSet:
    """Accounts loaded (or opened on demand) within one command, each loaded only once."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._loaded: dict[UUID, Account] = {}

    def get(self, key: AccountKey) -> Account:
        """The account named by ``key``; a new, unsaved one if it was never opened."""
        if key.id not in self._loaded:
            self._loaded[key.id] = self._ledger.get_account(key) or Account.open(key)
        return self._loaded[key.id]

    def __iter__(self) -> Iterator[Account]:
        return iter(self._loaded.values())


def stage_transfer(
    ledger: Ledger,
    transfer_id: str,
    debit_key: AccountKey,
    credit_key: AccountKey,
    amount_minor: int,
    code: str,
    *,
    pending: bool = False,
) -> Staged[TransferResult]:
    """Move (or reserve) ``amount_minor``; a repeat with the same terms stages nothing."""
    accounts = AccountSet(ledger)
    debit, credit = accounts.get(debit_key), accounts.get(credit_key)
    existing = ledger.find(Transfer, transfer_uuid(transfer_id))
    if existing is not None:
        check_same_transfer(existing, debit, credit, amount_minor, code, pending=pending)
        return Staged(existing.result)
    transfer = make_transfer(transfer_id, debit, credit, amount_minor, code, pending=pending)
    return Staged(transfer.result, (*accounts, transfer))


def stage_deposit_credit(
    ledger: Ledger, party_id: str, amount_minor: int, currency: str, deposit_id: str
) -> Staged[TransferResult]:
    """Credit a confirmed deposit from deposit clearing to the party's available account."""
    return stage_transfer(
        ledger,
        reference("deposit", deposit_id),
        AccountKey.platform(Purpose.DEPOSIT_CLEARING, currency),
        AccountKey.available(party_id, currency),
        amount_minor,
        "deposit",
    )


def stage_post_pending(ledger: Ledger, transfer_id: str) -> Staged[PendingResolved]:
    """Post the whole amount of a pending transfer (a payout that cleared)."""
    transfer = ledger.require_transfer(transfer_id)
    done = transfer.resolution
    if done is not None and transfer.status is TransferStatus.POSTED:
        return Staged(done)
    debit, credit = _transfer_accounts(ledger, transfer)
    return Staged(post_pending(transfer, debit, credit), (transfer, debit, credit))


def stage_void_pending(ledger: Ledger, transfer_id: str) -> Staged[PendingResolved]:
    """Void a pending transfer: the whole amount goes back to the debit account."""
    transfer = ledger.require_transfer(transfer_id)
    if transfer.status is TransferStatus.VOIDED and transfer.resolution is not None:
        return Staged(transfer.resolution)
    debit, credit = _transfer_accounts(ledger, transfer)
    return Staged(void_pending(transfer, debit, credit), (transfer, debit, credit))


def _transfer_accounts(ledger: Ledger, transfer: Transfer) -> tuple[Account, Account]:
    return (
        ledger.load(Account, transfer.debit_account_id),
        ledger.load(Account, transfer.credit_account_id),
    )
