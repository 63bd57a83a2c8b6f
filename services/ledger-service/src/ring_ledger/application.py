"""Ledger application: the ledger-service's one event-sourced application.

Every command loads the aggregates it touches, applies domain rules (a *step*, see
:mod:`ring_ledger.steps`), and saves all of them in ONE ``save()`` — atomic in
``eventsourcing``: all events are recorded or none. If another command changed one of those
aggregates meanwhile, the save fails with ``IntegrityError`` on the event store's optimistic
concurrency and the command is re-run from fresh state (:func:`ring_runtime.concurrency.retrying`),
so concurrent transfers can never overdraw an account.

Idempotency keys become deterministic aggregate ids (see :mod:`ring_ledger.domain.ids`): a
repeated deposit, hold, settlement, release or withdrawal finds what the first one recorded and
returns the original result. A *rejected* command (a :class:`LedgerError`, or ``Rejected`` from
:meth:`Ledger.hold_task_escrow`) records nothing, so it can be retried later with the same key.

The commands are grouped by business: the SettlementSaga's steps (:mod:`ring_ledger.settlements`),
deposits through the payment provider (:mod:`ring_ledger.payments`), payouts
(:mod:`ring_ledger.payouts`) and reads (:mod:`ring_ledger.queries`). This module adds the direct
ledger commands: transfers (single and batched), two-phase resolution and the escrow primitives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ring_ledger.base import AccountSet, Staged
from ring_ledger.domain import (
    AccountKey,
    LedgerError,
    PendingResolved,
    Purpose,
    Rejected,
    Release,
    Reserved,
    Settlement,
    TransferResult,
)
from ring_ledger.payments import Payments
from ring_ledger.payouts import Payouts
from ring_ledger.queries import InvalidPage, LedgerQueries
from ring_ledger.settlements import Settlements
from ring_runtime.concurrency import retrying


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """One transfer of a batch (see :meth:`Ledger.transfer_batch`)."""

    transfer_id: str
    debit: AccountKey
    credit: AccountKey
    amount_minor: int
    code: str = "transfer"


class Ledger(Settlements, Payments, Payouts, LedgerQueries):
    """The double-entry ledger of Ring: deposits, task escrow, settlement, payouts."""

    # ----------------------------------------------------------------- generic transfers

    def transfer(
        self,
        transfer_id: str,
        debit: AccountKey,
        credit: AccountKey,
        amount_minor: int,
        *,
        code: str = "transfer",
        pending: bool = False,
    ) -> TransferResult:
        """Move (or, if ``pending``, reserve) money between two non-escrow accounts.

        Idempotent on ``transfer_id``: a repeat with the same terms returns the original
        result; with other terms it raises :class:`TransferIdReused`.
        """
        _check_not_escrow(debit, credit)
        return retrying(
            lambda: self.commit(
                self.stage_transfer(transfer_id, debit, credit, amount_minor, code, pending=pending)
            )
        )

    def transfer_batch(self, requests: Sequence[TransferRequest]) -> list[TransferResult]:
        """Post several transfers in one atomic save: all of them, or none on any error."""
        for request in requests:
            _check_not_escrow(request.debit, request.credit)

        def command() -> list[TransferResult]:
            accounts = AccountSet(self)
            staged = [
                self.stage_transfer(
                    r.transfer_id, r.debit, r.credit, r.amount_minor, r.code, accounts=accounts
                )
                for r in requests
            ]
            account_ids = {account.id for account in accounts}
            transfers = [c for s in staged for c in s.changes if c.id not in account_ids]
            self.commit(Staged(None, (*accounts, *transfers)))
            return [s.result for s in staged]

        return retrying(command)

    def post_pending(self, transfer_id: str, amount_minor: int | None = None) -> PendingResolved:
        """Post ``amount_minor`` (default: all) of a pending transfer; release the rest."""
        return retrying(lambda: self.commit(self.stage_post_pending(transfer_id, amount_minor)))

    def void_pending(self, transfer_id: str) -> PendingResolved:
        """Void a pending transfer: release the whole amount back to the debit account."""
        return retrying(lambda: self.commit(self.stage_void_pending(transfer_id)))

    def deposit(
        self, party_id: str, amount_minor: int, currency: str, deposit_id: str
    ) -> TransferResult:
        """Credit a confirmed deposit to the party's available account (idempotent)."""
        return retrying(
            lambda: self.commit(
                self.stage_deposit_credit(party_id, amount_minor, currency, deposit_id)
            )
        )

    # ----------------------------------------------------------------- escrow primitives

    def hold_task_escrow(
        self,
        task_id: str,
        owner_id: str,
        slots: int,
        commission_minor: int,
        fee_minor: int,
        currency: str,
    ) -> Reserved | Rejected:
        """Fund a task without a saga (see :meth:`Settlements.request_funding` for the flow)."""
        return retrying(
            lambda: self.commit(
                self.stage_hold(task_id, owner_id, slots, commission_minor, fee_minor, currency)
            )
        )

    def settle_order(self, task_id: str, order_id: str, provider_id: str) -> Settlement:
        """Pay one slot for an approved order: commission to B, fee to the platform (once)."""
        return self.resolve_order(task_id, order_id, provider_id, 100)

    def resolve_order(
        self, task_id: str, order_id: str, provider_id: str, provider_share_percent: int
    ) -> Settlement:
        """Pay one slot by percent: release = 100, refund = 0, split = n (at most once)."""
        return retrying(
            lambda: self.commit(
                self.stage_resolution(task_id, order_id, provider_id, provider_share_percent)
            )
        )

    def release_unused(
        self, task_id: str, slots_to_release: int | None, release_id: str
    ) -> Release:
        """Refund unused slots (None = every open slot) to Party A; idempotent on release_id."""
        return retrying(
            lambda: self.commit(self.stage_release(task_id, slots_to_release, release_id))
        )


def _check_not_escrow(*keys: AccountKey) -> None:
    for key in keys:
        if key.purpose is Purpose.ESCROW:
            raise RestrictedAccount("escrow accounts move only through escrow commands")


class RestrictedAccount(LedgerError):
    """A generic transfer may not touch an escrow account."""

    code = "restricted_account"


__all__ = [
    "InvalidPage",
    "Ledger",
    "RestrictedAccount",
    "TransferRequest",
]
