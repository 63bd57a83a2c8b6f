"""Internal HTTP API of the ledger: thin controllers mapping requests to ``Ledger`` calls.

Each request makes ONE hop to a worker thread (``asyncio.to_thread``) and runs there all its
blocking work: the command and any read its response needs. A command returns the aggregate it
changed, so the response never loads it a second time.

The gateway authenticates users and signs the acting user into ``X-Ring-Assertion`` (injected
as ``actor``). A party reads only its own wallet, statement and withdrawals. The payment
provider's webhook is authenticated by its HMAC signature instead; completing a withdrawal is an
operator / scheduler call.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from ring_contracts.money import MoneyRequest
from ring_ledger.application import Ledger
from ring_ledger.checks import LedgerCheck
from ring_ledger.domain import (
    Balances,
    Deposit,
    NotAccountHolder,
    Statement,
    Violation,
    Withdrawal,
)
from ring_ledger.payments import SIGNATURE_HEADER, verify_signature
from ring_ledger.projections import BooksProjection
from ring_ledger.totals import LedgerTotals
from ring_runtime.http import allow
from ring_runtime.identity import ADMIN, PARTY_A, PARTY_B
from ring_runtime.long_poll import MAX_WAIT_SECONDS, Changes, WaitFor, WaitTimeout, long_poll

IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key")]


class DepositView(msgspec.Struct, frozen=True, kw_only=True):
    """A deposit and where it is: ``pending``, ``confirmed`` or ``failed``."""

    id: UUID
    party_id: str
    status: str
    amount_minor: int
    currency: str
    provider: str
    provider_reference: str

    @classmethod
    def of(cls, deposit: Deposit) -> DepositView:
        """The view of ``deposit``."""
        return cls(
            id=deposit.id,
            party_id=deposit.party_id,
            status=str(deposit.status),
            amount_minor=deposit.amount_minor,
            currency=deposit.currency,
            provider=deposit.provider,
            provider_reference=deposit.provider_reference,
        )


class WebhookNotice(msgspec.Struct, frozen=True, kw_only=True):
    """The payment provider's verdict on a deposit it was asked to collect."""

    reference: str
    status: Literal["succeeded", "failed"]
    reason: str = ""


class WalletView(msgspec.Struct, frozen=True, kw_only=True):
    """A party's money in one currency."""

    currency: str
    available_minor: int
    reserved_minor: int

    @classmethod
    def of(cls, balances: Balances) -> WalletView:
        """The view of ``balances``."""
        return cls(
            currency=balances.currency,
            available_minor=balances.available_minor,
            reserved_minor=balances.reserved_minor,
        )


class PostingView(msgspec.Struct, frozen=True, kw_only=True):
    """One statement line: how one posting changed the party's available account."""

    sequence: int
    transfer_id: str
    code: str
    debit_minor: int
    credit_minor: int
    pending_debit_minor: int
    pending_credit_minor: int
    occurred_at: datetime


class StatementView(msgspec.Struct, frozen=True, kw_only=True):
    """A page of a statement; pass ``next_cursor`` as ``cursor`` for the next (null = end)."""

    party_id: str
    currency: str
    postings: list[PostingView]
    next_cursor: int | None

    @classmethod
    def of(cls, statement: Statement) -> StatementView:
        """The view of ``statement``."""
        return cls(
            party_id=statement.party_id,
            currency=statement.currency,
            postings=[
                msgspec.convert(p, PostingView, from_attributes=True) for p in statement.postings
            ],
            next_cursor=statement.next_cursor,
        )


class WithdrawalView(msgspec.Struct, frozen=True, kw_only=True):
    """A payout: ``requested`` (until ``clears_at``), ``paid`` or ``cancelled``."""

    id: UUID
    party_id: str
    status: str
    amount_minor: int
    currency: str
    clears_at: datetime

    @classmethod
    def of(cls, withdrawal: Withdrawal) -> WithdrawalView:
        """The view of ``withdrawal``."""
        return cls(
            id=withdrawal.id,
            party_id=withdrawal.party_id,
            status=str(withdrawal.status),
            amount_minor=withdrawal.amount_minor,
            currency=withdrawal.currency,
            clears_at=withdrawal.clears_at,
        )


class ViolationView(msgspec.Struct, frozen=True, kw_only=True):
    """A broken ledger invariant."""

    code: str
    subject: str
    detail: str


class CheckView(msgspec.Struct, frozen=True, kw_only=True):
    """The result of ``ledger check``: ``ok`` is false when any invariant is broken."""

    ok: bool
    violations: list[ViolationView]

    @classmethod
    def of(cls, violations: list[Violation]) -> CheckView:
        """The view of a check's findings."""
        return cls(
            ok=not violations,
            violations=[
                ViolationView(code=v.code, subject=v.subject, detail=v.detail) for v in violations
            ],
        )


class DepositController(Controller):
    """Deposits into the acting party's wallet, and the provider's confirmations."""

    tags = ["deposits"]

    @post(
        "/deposits",
        status_code=HTTP_201_CREATED,
        operation_id="CreateDeposit",
        guards=[allow(PARTY_A)],
    )
    async def create_deposit(
        self,
        actor: NamedDependency[UUID],
        data: JSONBody[MoneyRequest],
        ledger: NamedDependency[Ledger],
        idempotency_key: IdempotencyKey,
    ) -> DepositView:
        """Deposit money; the same ``Idempotency-Key`` always answers with the same deposit."""
        deposit = await asyncio.to_thread(
            ledger.create_deposit,
            actor,
            data.amount_minor,
            data.currency,
            idempotency_key or "",
        )
        return DepositView.of(deposit)

    @post("/payments/webhook", status_code=HTTP_200_OK, operation_id="ConfirmPayment")
    async def confirm_payment(
        self,
        request: Request[Any, Any, Any],
        ledger: NamedDependency[Ledger],
        webhook_secret: NamedDependency[str],
    ) -> DepositView:
        """The payment provider confirms (or fails) a pending deposit; body signed by HMAC."""
        body = await request.body()
        verify_signature(webhook_secret, body, request.headers.get(SIGNATURE_HEADER))
        try:
            notice = msgspec.json.decode(body, type=WebhookNotice)
        except msgspec.DecodeError as error:
            raise ValidationException(f"invalid webhook body: {error}") from None
        deposit = await asyncio.to_thread(
            ledger.confirm_deposit,
            notice.reference,
            succeeded=notice.status == "succeeded",
            reason=notice.reason,
        )
        return DepositView.of(deposit)


class WalletController(Controller):
    """Balances and statements of the acting party."""

    tags = ["wallets"]

    @get("/wallets/{party_id:uuid}", operation_id="GetWallet")
    async def get_wallet(
        self,
        actor: NamedDependency[UUID],
        party_id: FromPath[UUID],
        currency: FromQuery[str],
        ledger: NamedDependency[Ledger],
        changes: NamedDependency[Changes],
        wait_for: WaitFor = None,
        wait_timeout: WaitTimeout = MAX_WAIT_SECONDS,
    ) -> WalletView:
        """Available and reserved money of the party in ``currency``; ``wait_for`` long-polls
        (e.g. ``available_minor:10000``), woken by any save of the ledger."""
        _require_self(actor, party_id)
        return await long_poll(
            lambda: WalletView.of(ledger.balances(party_id, currency)),
            wait_for,
            wait_timeout,
            changes,
            None,
        )

    @get("/statements/{party_id:uuid}", operation_id="GetStatement")
    async def get_statement(
        self,
        actor: NamedDependency[UUID],
        party_id: FromPath[UUID],
        currency: FromQuery[str],
        ledger: NamedDependency[Ledger],
        cursor: FromQuery[int] = 0,
        limit: FromQuery[int] = 50,
    ) -> StatementView:
        """Postings of the party's available account after ``cursor``, oldest first."""
        _require_self(actor, party_id)
        statement = await asyncio.to_thread(ledger.statement, party_id, currency, cursor, limit)
        return StatementView.of(statement)


class WithdrawalController(Controller):
    """Payouts: request, read, cancel; completion after clearance by operator or scheduler."""

    path = "/withdrawals"
    tags = ["withdrawals"]

    @post(
        "/", status_code=HTTP_201_CREATED, operation_id="CreateWithdrawal", guards=[allow(PARTY_B)]
    )
    async def create_withdrawal(
        self,
        actor: NamedDependency[UUID],
        data: JSONBody[MoneyRequest],
        ledger: NamedDependency[Ledger],
        idempotency_key: IdempotencyKey,
    ) -> WithdrawalView:
        """Reserve a payout of the acting party's available money (never more than available)."""
        withdrawal = await asyncio.to_thread(
            ledger.request_withdrawal,
            actor,
            data.amount_minor,
            data.currency,
            idempotency_key or "",
        )
        return WithdrawalView.of(withdrawal)

    @get("/{withdrawal_id:uuid}", operation_id="GetWithdrawal")
    async def get_withdrawal(
        self,
        actor: NamedDependency[UUID],
        withdrawal_id: FromPath[UUID],
        ledger: NamedDependency[Ledger],
    ) -> WithdrawalView:
        """One of the acting party's withdrawals."""
        withdrawal = await asyncio.to_thread(ledger.get_withdrawal, withdrawal_id)
        _require_self(actor, UUID(withdrawal.party_id))
        return WithdrawalView.of(withdrawal)

    @post(
        "/{withdrawal_id:uuid}/cancel",
        status_code=HTTP_200_OK,
        operation_id="CancelWithdrawal",
        guards=[allow(PARTY_B)],
    )
    async def cancel_withdrawal(
        self,
        actor: NamedDependency[UUID],
        withdrawal_id: FromPath[UUID],
        ledger: NamedDependency[Ledger],
    ) -> WithdrawalView:
        """The party cancels an unpaid payout; the amount is available again."""
        withdrawal = await asyncio.to_thread(ledger.cancel_withdrawal, withdrawal_id, actor)
        return WithdrawalView.of(withdrawal)

    @post(
        "/{withdrawal_id:uuid}/complete",
        status_code=HTTP_200_OK,
        operation_id="CompleteWithdrawal",
        guards=[allow(ADMIN)],
    )
    async def complete_withdrawal(
        self, withdrawal_id: FromPath[UUID], ledger: NamedDependency[Ledger]
    ) -> WithdrawalView:
        """Operator / scheduler: pay a payout whose clearance period is over (409 before)."""
        return WithdrawalView.of(await asyncio.to_thread(ledger.complete_withdrawal, withdrawal_id))


@get("/check", operation_id="CheckLedger", guards=[allow(ADMIN)], tags=["operations"])
async def check_ledger(
    checks: NamedDependency[LedgerCheck], full: FromQuery[bool] = False
) -> CheckView:
    """Audit the ledger (``ring ledger check``): incremental from the last clean check, or
    ``?full=true``."""
    report = await asyncio.to_thread(lambda: checks.run(full=full))
    return CheckView.of(report.violations)


@get("/internal/totals", operation_id="GetLedgerTotals", guards=[allow(ADMIN)], tags=["operations"])
async def ledger_totals(books: NamedDependency[BooksProjection]) -> LedgerTotals:
    """Fee revenue, escrow held, wallets held, deposits and payouts per currency."""
    return await asyncio.to_thread(books.totals)


def _require_self(actor: UUID, party_id: UUID) -> None:
    if actor != party_id:
        raise NotAccountHolder("a party may read and move only its own money")
