"""Withdrawal: a payout of a party's available money, paid after a clearance period.

Requesting reserves the amount (a pending transfer from the party's available account to payout
clearing, never more than available) in the same save as this aggregate. After ``clears_at`` the
payout is *paid* (the pending transfer is posted); before that it may be *cancelled* (voided).
The id derives from the party and the client's ``Idempotency-Key``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from ring_ledger.domain.deposit import IdempotencyKeyReused
from ring_ledger.domain.errors import LedgerError
from ring_ledger.domain.ids import derive_id, reference
from ring_ledger.domain.money import check_amount, check_currency


class WithdrawalStatus(StrEnum):
    """Where a payout is."""

    REQUESTED = "requested"
    PAID = "paid"
    CANCELLED = "cancelled"


def withdrawal_uuid(party_id: str, idempotency_key: str) -> UUID:
    """The Withdrawal id of ``party_id``'s request with ``idempotency_key``."""
    return derive_id("withdrawal", party_id, idempotency_key)


def withdrawal_transfer_id(withdrawal_id: UUID) -> str:
    """The id of the pending transfer reserving the payout."""
    return reference("withdrawal", str(withdrawal_id))


class Withdrawal(Aggregate):
    """One payout of a party, from request through clearance to paid (or cancelled)."""

    @staticmethod
    def create_id(party_id: str, idempotency_key: str, **_: Any) -> UUID:
        """Withdrawals are identified by party and idempotency key."""
        return withdrawal_uuid(party_id, idempotency_key)

    class Requested(Aggregate.Created):
        party_id: str
        idempotency_key: str
        amount_minor: int
        currency: str
        clears_at: datetime

    def __init__(
        self,
        party_id: str,
        idempotency_key: str,
        amount_minor: int,
        currency: str,
        clears_at: datetime,
    ) -> None:
        self.party_id = party_id
        self.idempotency_key = idempotency_key
        self.amount_minor = check_amount(amount_minor)
        self.currency = check_currency(currency)
        self.clears_at = clears_at
        self.status = WithdrawalStatus.REQUESTED

    @property
    def transfer_id(self) -> str:
        """The pending transfer that reserves the payout."""
        return withdrawal_transfer_id(self.id)

    def check_same_request(self, amount_minor: int, currency: str) -> None:
        """Raise :class:`IdempotencyKeyReused` unless a repeat asks for the same payout."""
        if (self.amount_minor, self.currency) != (amount_minor, currency):
            raise IdempotencyKeyReused(
                f"idempotency key {self.idempotency_key!r} was used for "
                f"{self.amount_minor} {self.currency}"
            )

    def is_due(self, now: datetime) -> bool:
        """Whether the clearance period is over and the payout still waits."""
        return self.status is WithdrawalStatus.REQUESTED and now >= self.clears_at

    def pay(self, now: datetime) -> None:
        """Pay out after clearance; the caller posts the pending transfer in the same save."""
        self._require_requested()
        if now < self.clears_at:
            raise WithdrawalNotDue(
                f"withdrawal {self.id} clears at {self.clears_at.isoformat()}, not before"
            )
        self._decide(self.Paid)

    def check_holder(self, party_id: str) -> None:
        """Raise :class:`NotAccountHolder` unless ``party_id`` requested this payout."""
        if self.party_id != party_id:
            raise NotAccountHolder(f"withdrawal {self.id} is not a payout of {party_id}")

    def cancel(self) -> None:
        """Cancel before payment; the caller voids the pending transfer in the same save."""
        self._require_requested()
        self._decide(self.Cancelled)

    class Decision(Aggregate.Event):
        """The payout of ``amount_minor`` to ``party_id`` moved to ``STATUS``."""

        STATUS: ClassVar[WithdrawalStatus]
        party_id: str
        amount_minor: int
        currency: str

        def apply(self, aggregate: Withdrawal) -> None:
            aggregate.status = self.STATUS

    class Paid(Decision):
        STATUS = WithdrawalStatus.PAID

    class Cancelled(Decision):
        STATUS = WithdrawalStatus.CANCELLED

    def _decide(self, event_class: type[Withdrawal.Decision]) -> None:
        self.trigger_event(
            event_class,
            party_id=self.party_id,
            amount_minor=self.amount_minor,
            currency=self.currency,
        )

    def _require_requested(self) -> None:
        if self.status is not WithdrawalStatus.REQUESTED:
            raise WithdrawalAlreadyDecided(f"withdrawal {self.id} is already {self.status}")


class WithdrawalNotDue(LedgerError):
    """A payout was completed before its clearance period ended."""

    code = "withdrawal_not_due"


class WithdrawalAlreadyDecided(LedgerError):
    """A payout was already paid or cancelled, differently from this request."""

    code = "withdrawal_already_decided"


class WithdrawalNotFound(LedgerError):
    """No withdrawal has the given id."""

    code = "withdrawal_not_found"


class NotAccountHolder(LedgerError):
    """The acting party is not the holder of the wallet or withdrawal it addressed."""

    code = "not_account_holder"
