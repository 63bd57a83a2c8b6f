"""Ledger steps: each decides one money movement and stages it, without saving.

A step loads what it needs, applies the domain rules and returns :class:`~ring_ledger.base.Staged`
(the result and the changed aggregates). Callers commit one step, or a step together with a saga
or deposit/withdrawal event, in ONE atomic save. A step that finds its idempotency key already
used returns the original result and stages nothing.
"""

from __future__ import annotations

from ring_ledger.base import AccountSet, LedgerBase, Staged
from ring_ledger.domain import (
    Account,
    AccountKey,
    Escrow,
    OrderAlreadySettled,
    PendingResolved,
    Purpose,
    Rejected,
    Release,
    Reserved,
    Settlement,
    Transfer,
    TransferIdReused,
    TransferResult,
    TransferStatus,
    Wallet,
)
from ring_ledger.domain.escrow import escrow_uuid
from ring_ledger.domain.ids import reference
from ring_ledger.domain.money import check_amount, check_currency, check_percent
from ring_ledger.domain.posting import (
    check_same_transfer,
    make_transfer,
    post_pending,
    void_pending,
)
from ring_ledger.domain.transfers import transfer_uuid
from ring_ledger.domain.wallet import wallet_uuid


class LedgerSteps(LedgerBase):
    """Staged money movements: transfers, two-phase resolutions and task escrow."""

    def stage_transfer(
        self,
        transfer_id: str,
        debit_key: AccountKey,
        credit_key: AccountKey,
        amount_minor: int,
        code: str,
        *,
        pending: bool = False,
        accounts: AccountSet | None = None,
    ) -> Staged[TransferResult]:
        """Move (or reserve) ``amount_minor``; a repeat with the same terms stages nothing.

        Pass one ``accounts`` set to stage several transfers over shared accounts.
        """
        accounts = accounts if accounts is not None else AccountSet(self)
        debit, credit = accounts.get(debit_key), accounts.get(credit_key)
        existing = self._find(Transfer, transfer_uuid(transfer_id))
        if existing is not None:
            check_same_transfer(existing, debit, credit, amount_minor, code, pending=pending)
            return Staged(existing.result)
        transfer = make_transfer(transfer_id, debit, credit, amount_minor, code, pending=pending)
        return Staged(transfer.result, (*accounts, transfer))

    def stage_deposit_credit(
        self, party_id: str, amount_minor: int, currency: str, deposit_id: str
    ) -> Staged[TransferResult]:
        """Credit a confirmed deposit from deposit clearing to the party's available account."""
        return self.stage_transfer(
            reference("deposit", deposit_id),
            AccountKey.platform(Purpose.DEPOSIT_CLEARING, currency),
            AccountKey.available(party_id, currency),
            amount_minor,
            "deposit",
        )

    def stage_post_pending(
        self, transfer_id: str, amount_minor: int | None = None
    ) -> Staged[PendingResolved]:
        """Post ``amount_minor`` (default: all) of a pending transfer; release the rest."""
        transfer = self._require_transfer(transfer_id)
        done = transfer.resolution
        if done is not None and transfer.status is TransferStatus.POSTED:
            wanted = transfer.amount_minor if amount_minor is None else amount_minor
            if done.posted_minor == wanted:
                return Staged(done)
        debit, credit = self._transfer_accounts(transfer)
        return Staged(
            post_pending(transfer, debit, credit, amount_minor), (transfer, debit, credit)
        )

    def stage_void_pending(self, transfer_id: str) -> Staged[PendingResolved]:
        """Void a pending transfer: the whole amount goes back to the debit account."""
        transfer = self._require_transfer(transfer_id)
        if transfer.status is TransferStatus.VOIDED and transfer.resolution is not None:
            return Staged(transfer.resolution)
        debit, credit = self._transfer_accounts(transfer)
        return Staged(void_pending(transfer, debit, credit), (transfer, debit, credit))

    def stage_hold(
        self,
        task_id: str,
        owner_id: str,
        slots: int,
        commission_minor: int,
        fee_minor: int,
        currency: str,
    ) -> Staged[Reserved | Rejected]:
        """Fund a task: ``slots x (commission + fee)`` from A's available into its escrow.

        :class:`Rejected` (with the exact shortfall) stages nothing. Idempotent on ``task_id``.
        """
        check_amount(slots)
        check_amount(commission_minor)
        check_amount(fee_minor, allow_zero=True)
        check_currency(currency)
        amount_minor = slots * (commission_minor + fee_minor)
        wanted = Reserved(
            task_id, owner_id, amount_minor, currency, slots, commission_minor, fee_minor
        )
        escrow = self._find(Escrow, escrow_uuid(task_id))
        if escrow is not None:
            if escrow.reserved != wanted:
                raise TransferIdReused(f"task {task_id!r} was funded with other terms")
            return Staged(escrow.reserved)
        accounts = AccountSet(self)
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
        wallet = self._find(Wallet, wallet_uuid(owner_id, currency))
        wallet = wallet or Wallet(party_id=owner_id, currency=currency)
        wallet.add_escrow(task_id)
        return Staged(escrow.reserved, (*accounts, transfer, escrow, wallet))

    def stage_resolution(
        self, task_id: str, order_id: str, provider_id: str, provider_share_percent: int
    ) -> Staged[Settlement]:
        """Pay one slot: ``pct`` of the commission to B, of the fee to Ring, the rest to A.

        At most once per order; a repeat with the same provider and percent stages nothing.
        """
        check_percent(provider_share_percent)
        escrow = self._require_escrow(task_id)
        done = escrow.outcome(order_id)
        if done is not None:
            if (done.provider_id, done.provider_share_percent) != (
                provider_id,
                provider_share_percent,
            ):
                raise OrderAlreadySettled(f"order {order_id!r} was settled differently")
            return Staged(done)
        plan = escrow.settle(order_id, provider_id, provider_share_percent)
        accounts = AccountSet(self)
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

    def stage_release(
        self, task_id: str, slots_to_release: int | None, release_id: str
    ) -> Staged[Release]:
        """Refund unused slots (None = every open slot) to Party A; idempotent on release_id."""
        escrow = self._require_escrow(task_id)
        done = escrow.releases.get(release_id)
        if done is not None:
            if slots_to_release not in (None, done.slots):
                raise TransferIdReused(f"release {release_id!r} had {done.slots} slots")
            return Staged(done)
        plan = escrow.release(release_id, slots_to_release)
        if not plan.slots:
            return Staged(plan)
        accounts = AccountSet(self)
        transfer = make_transfer(
            reference("release", task_id, release_id),
            accounts.get(AccountKey.escrow(task_id, escrow.currency)),
            accounts.get(AccountKey.available(escrow.owner_id, escrow.currency)),
            plan.refund_minor,
            "escrow_release",
        )
        return Staged(plan, (escrow, *accounts, transfer))

    def _transfer_accounts(self, transfer: Transfer) -> tuple[Account, Account]:
        return (
            self._load(Account, transfer.debit_account_id),
            self._load(Account, transfer.credit_account_id),
        )
