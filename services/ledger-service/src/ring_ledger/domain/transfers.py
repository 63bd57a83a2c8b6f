"""Transfers: the idempotent record of money moving from one account to another.

A transfer's aggregate id is derived from the client's transfer id (UUID v5), so a repeated
transfer id finds the existing transfer and is answered with the original result; a repeat with
different terms is refused with :class:`TransferIdReused`.

Two-phase transfers follow TigerBeetle: a *pending* transfer reserves the amount on both
accounts; it is then resolved exactly once, either *posted* (fully, or partly — the remainder is
released back to the debit account) or *voided* (everything released).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ring_ledger.domain.errors import LedgerError
from ring_ledger.domain.ids import derive_id
from ring_ledger.domain.money import check_amount
from ring_ledger.domain.results import PendingResolved, TransferResult


class TransferStatus(StrEnum):
    """Life cycle of a transfer."""

    POSTED = "posted"
    PENDING = "pending"
    VOIDED = "voided"


def transfer_uuid(transfer_id: str) -> UUID:
    """The Transfer aggregate id for the client's ``transfer_id``."""
    return derive_id("transfer", transfer_id)


class Transfer(Aggregate):
    """Money moved (or reserved) from ``debit_account_id`` to ``credit_account_id``."""

    @staticmethod
    def create_id(transfer_id: str, **_: Any) -> UUID:
        """Transfers are identified by the client's transfer id."""
        return transfer_uuid(transfer_id)

    class Created(Aggregate.Created):
        transfer_id: str
        debit_account_id: UUID
        credit_account_id: UUID
        amount_minor: int
        currency: str
        code: str
        pending: bool

    def __init__(
        self,
        transfer_id: str,
        debit_account_id: UUID,
        credit_account_id: UUID,
        amount_minor: int,
        currency: str,
        code: str,
        pending: bool,
    ) -> None:
        self.transfer_id = transfer_id
        self.debit_account_id = debit_account_id
        self.credit_account_id = credit_account_id
        self.amount_minor = check_amount(amount_minor)
        self.currency = currency
        self.code = code
        self.pending = pending
        self.status = TransferStatus.PENDING if pending else TransferStatus.POSTED
        self.posted_minor = 0 if pending else amount_minor

    @property
    def result(self) -> TransferResult:
        """The original result of creating this transfer."""
        return TransferResult(self.transfer_id, self.amount_minor, self.currency, self.pending)

    @property
    def resolution(self) -> PendingResolved | None:
        """How the pending transfer was resolved, or None while pending / if never pending."""
        if not self.pending or self.status is TransferStatus.PENDING:
            return None
        released = self.amount_minor - self.posted_minor
        return PendingResolved(self.transfer_id, self.posted_minor, released, self.currency)

    def has_terms(
        self,
        debit_account_id: UUID,
        credit_account_id: UUID,
        amount_minor: int,
        currency: str,
        code: str,
        pending: bool,
    ) -> bool:
        """Whether a repeated request describes exactly this transfer."""
        return (
            self.debit_account_id,
            self.credit_account_id,
            self.amount_minor,
            self.currency,
            self.code,
            self.pending,
        ) == (debit_account_id, credit_account_id, amount_minor, currency, code, pending)

    def check_pending(self) -> None:
        """Raise unless this transfer is pending and unresolved."""
        if not self.pending:
            raise TransferNotPending(f"transfer {self.transfer_id!r} was not pending")
        if self.status is not TransferStatus.PENDING:
            raise PendingTransferAlreadyResolved(
                f"pending transfer {self.transfer_id!r} is already {self.status}"
            )

    class PendingPosted(Aggregate.Event):
        amount_minor: int

        def apply(self, aggregate: Transfer) -> None:
            aggregate.status = TransferStatus.POSTED
            aggregate.posted_minor = self.amount_minor

    def post(self, amount_minor: int) -> None:
        """Post ``amount_minor`` (≤ the pending amount); the remainder is released."""
        self.check_pending()
        check_amount(amount_minor)
        if amount_minor > self.amount_minor:
            raise PostExceedsPending(f"cannot post {amount_minor} of pending {self.amount_minor}")
        self.trigger_event(self.PendingPosted, amount_minor=amount_minor)

    class PendingVoided(Aggregate.Event):
        def apply(self, aggregate: Transfer) -> None:
            aggregate.status = TransferStatus.VOIDED

    def void(self) -> None:
        """Release the whole pending amount back to the debit account."""
        self.check_pending()
        self.trigger_event(self.PendingVoided)


class TransferIdReused(LedgerError):
    """A transfer id was repeated with different terms."""

    code = "transfer_id_reused"


class TransferNotFound(LedgerError):
    """No transfer has the given id."""

    code = "transfer_not_found"


class TransferNotPending(LedgerError):
    """Post or void of a transfer that was posted at once."""

    code = "transfer_not_pending"


class PendingTransferAlreadyResolved(LedgerError):
    """A pending transfer was already posted or voided, differently from this request."""

    code = "pending_transfer_already_resolved"


class PostExceedsPending(LedgerError):
    """An attempt to post more than the pending amount."""

    code = "post_exceeds_pending"
