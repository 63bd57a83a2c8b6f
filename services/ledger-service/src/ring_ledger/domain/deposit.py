"""Deposit: money a party pays in through the payment provider, confirmed once.

A deposit's id derives from the party and the client's ``Idempotency-Key``, so the same key
always names the same deposit: a repeated request finds it and is answered with it.
Life cycle: ``pending`` → ``confirmed`` (the provider took the money: the party is credited in
the same save) or ``failed``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ring_ledger.domain.errors import LedgerError
from ring_ledger.domain.ids import derive_id
from ring_ledger.domain.money import check_amount, check_currency


class DepositStatus(StrEnum):
    """Where a deposit is."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    FAILED = "failed"


def deposit_uuid(party_id: str, idempotency_key: str) -> UUID:
    """The Deposit id of ``party_id``'s request with ``idempotency_key``."""
    return derive_id("deposit", party_id, idempotency_key)


class Deposit(Aggregate):
    """One pay-in of a party, from request to the provider's confirmation."""

    @staticmethod
    def create_id(party_id: str, idempotency_key: str, **_: Any) -> UUID:
        """Deposits are identified by party and idempotency key."""
        return deposit_uuid(party_id, idempotency_key)

    class Initiated(Aggregate.Created):
        party_id: str
        idempotency_key: str
        amount_minor: int
        currency: str
        provider: str
        provider_reference: str

    def __init__(
        self,
        party_id: str,
        idempotency_key: str,
        amount_minor: int,
        currency: str,
        provider: str,
        provider_reference: str,
    ) -> None:
        self.party_id = party_id
        self.idempotency_key = idempotency_key
        self.amount_minor = check_amount(amount_minor)
        self.currency = check_currency(currency)
        self.provider = provider
        self.provider_reference = provider_reference
        self.status = DepositStatus.PENDING
        self.failure = ""

    def check_same_request(self, amount_minor: int, currency: str) -> None:
        """Raise :class:`IdempotencyKeyReused` unless a repeat asks for the same deposit."""
        if (self.amount_minor, self.currency) != (amount_minor, currency):
            raise IdempotencyKeyReused(
                f"idempotency key {self.idempotency_key!r} was used for "
                f"{self.amount_minor} {self.currency}"
            )

    def confirm(self) -> None:
        """The provider took the money; the caller credits the party in the same save."""
        self._require_pending()
        self.trigger_event(
            self.Confirmed,
            party_id=self.party_id,
            amount_minor=self.amount_minor,
            currency=self.currency,
            provider=self.provider,
            provider_reference=self.provider_reference,
        )

    class Confirmed(Aggregate.Event):
        party_id: str
        amount_minor: int
        currency: str
        provider: str
        provider_reference: str

        def apply(self, aggregate: Deposit) -> None:
            aggregate.status = DepositStatus.CONFIRMED

    def fail(self, reason: str) -> None:
        """The provider reports the payment failed; nothing is credited."""
        self._require_pending()
        self.trigger_event(self.Failed, reason=reason)

    class Failed(Aggregate.Event):
        reason: str

        def apply(self, aggregate: Deposit) -> None:
            aggregate.status = DepositStatus.FAILED
            aggregate.failure = self.reason

    def _require_pending(self) -> None:
        if self.status is not DepositStatus.PENDING:
            raise DepositAlreadyDecided(f"deposit {self.id} is already {self.status}")


class IdempotencyKeyReused(LedgerError):
    """An idempotency key was repeated with a different request."""

    code = "idempotency_key_reused"


class DepositAlreadyDecided(LedgerError):
    """A confirmation or failure arrived for a deposit that was already decided otherwise."""

    code = "deposit_already_decided"


class DepositNotFound(LedgerError):
    """No deposit has the given id or provider reference."""

    code = "deposit_not_found"
