"""Payouts: Party B withdraws available money; it is paid after a clearance period.

``request`` reserves the amount (a pending transfer, never more than available) together with
the :class:`~ring_ledger.domain.Withdrawal` in one save. Once ``clears_at`` has passed (after
``RING_WITHDRAWAL_CLEARANCE_HOURS``), :meth:`Payouts.complete_withdrawal` posts it: a durable
timer does so automatically (:mod:`ring_ledger.payout_timers`); operators can also run it
(``POST /withdrawals/{id}/complete``, or ``ring ledger payouts`` for every due one). Until then
the party may cancel it, which voids the reservation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from eventsourcing.utils import get_topic

from ring_ledger.base import Staged
from ring_ledger.domain import (
    AccountKey,
    Purpose,
    Withdrawal,
    WithdrawalNotFound,
    WithdrawalStatus,
)
from ring_ledger.domain.money import check_amount, check_supported_currency
from ring_ledger.domain.withdrawal import withdrawal_transfer_id, withdrawal_uuid
from ring_ledger.payments import check_idempotency_key
from ring_ledger.steps import LedgerSteps
from ring_runtime.concurrency import retrying

_WITHDRAWAL_REQUESTED = get_topic(Withdrawal.Requested)


class Payouts(LedgerSteps):
    """Withdrawal commands: request, complete after clearance, cancel."""

    def request_withdrawal(
        self,
        party_id: str,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        now: datetime | None = None,
    ) -> Withdrawal:
        """Reserve a payout of ``amount_minor`` (or return the one made with this key)."""
        check_amount(amount_minor)
        check_supported_currency(currency, self.currencies)
        check_idempotency_key(idempotency_key)
        at = _at(now)

        def command() -> Withdrawal:
            withdrawal_id = withdrawal_uuid(party_id, idempotency_key)
            withdrawal = self._find(Withdrawal, withdrawal_id)
            if withdrawal is not None:
                withdrawal.check_same_request(amount_minor, currency)
                return withdrawal
            reservation = self.stage_transfer(
                withdrawal_transfer_id(withdrawal_id),
                AccountKey.available(party_id, currency),
                AccountKey.platform(Purpose.PAYOUT_CLEARING, currency),
                amount_minor,
                "withdrawal",
                pending=True,
            )
            withdrawal = Withdrawal(
                party_id=party_id,
                idempotency_key=idempotency_key,
                amount_minor=amount_minor,
                currency=currency,
                clears_at=at + self.withdrawal_clearance,
            )
            self.commit(Staged(None, (withdrawal, *reservation.changes)))
            return withdrawal

        return retrying(command)

    def complete_withdrawal(self, withdrawal_id: UUID, now: datetime | None = None) -> Withdrawal:
        """Pay a cleared payout (idempotent: a paid one is returned as it is)."""
        at = _at(now)

        def command() -> Withdrawal:
            withdrawal = self.get_withdrawal(withdrawal_id)
            if withdrawal.status is WithdrawalStatus.PAID:
                return withdrawal
            withdrawal.pay(at)
            posting = self.stage_post_pending(withdrawal.transfer_id)
            self.commit(Staged(None, (withdrawal, *posting.changes)))
            return withdrawal

        return retrying(command)

    def cancel_withdrawal(self, withdrawal_id: UUID) -> Withdrawal:
        """Cancel an unpaid payout: the amount is available again (idempotent)."""

        def command() -> Withdrawal:
            withdrawal = self.get_withdrawal(withdrawal_id)
            if withdrawal.status is WithdrawalStatus.CANCELLED:
                return withdrawal
            withdrawal.cancel()
            voiding = self.stage_void_pending(withdrawal.transfer_id)
            self.commit(Staged(None, (withdrawal, *voiding.changes)))
            return withdrawal

        return retrying(command)

    def get_withdrawal(self, withdrawal_id: UUID) -> Withdrawal:
        """The withdrawal ``withdrawal_id``."""
        withdrawal = self._find(Withdrawal, withdrawal_id)
        if withdrawal is None:
            raise WithdrawalNotFound(f"no withdrawal {withdrawal_id}")
        return withdrawal

    def due_withdrawals(self, now: datetime | None = None) -> list[Withdrawal]:
        """Requested payouts whose clearance period is over, oldest first."""
        at = _at(now)
        found = (self.get_withdrawal(i) for i in self._created_ids(_WITHDRAWAL_REQUESTED))
        return [withdrawal for withdrawal in found if withdrawal.is_due(at)]

    def pay_due_withdrawals(self, now: datetime | None = None) -> list[Withdrawal]:
        """Complete every due payout (what ``ring ledger payouts`` runs)."""
        at = _at(now)
        return [self.complete_withdrawal(w.id, at) for w in self.due_withdrawals(at)]


def _at(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)
