"""Deposits through the payment-provider port: simulated, and confirmed by signed webhook."""

from __future__ import annotations

from uuid import UUID

import pytest

from ring_ledger.application import Ledger
from ring_ledger.domain import (
    DepositAlreadyDecided,
    DepositNotFound,
    DepositStatus,
    UnsupportedCurrency,
)
from ring_ledger.domain.deposit import IdempotencyKeyReused, deposit_uuid
from ring_ledger.payments import (
    InvalidIdempotencyKey,
    InvalidSignature,
    WebhookProvider,
    sign,
    verify_signature,
)

A, B = UUID(int=0xA), UUID(int=0xB)


def test_simulated_deposit_is_credited_at_once_and_idempotent(ledger: Ledger) -> None:
    first = ledger.create_deposit(A, 1_000, "CNY", "key-1")
    assert (first.status, first.id) == (DepositStatus.CONFIRMED, deposit_uuid(str(A), "key-1"))
    again = ledger.create_deposit(A, 1_000, "CNY", "key-1")
    assert again.id == first.id
    assert ledger.balances(A, "CNY").available_minor == 1_000
    with pytest.raises(IdempotencyKeyReused):
        ledger.create_deposit(A, 2_000, "CNY", "key-1")
    with pytest.raises(InvalidIdempotencyKey):
        ledger.create_deposit(A, 1_000, "CNY", "")
    assert ledger.create_deposit(B, 1_000, "CNY", "key-1").id != first.id  # per party
    assert ledger.check() == []


@pytest.mark.parametrize("currency", ["XXX", "XAU", "ABC"])
def test_money_enters_only_in_a_supported_currency(ledger: Ledger, currency: str) -> None:
    with pytest.raises(UnsupportedCurrency):
        ledger.create_deposit(A, 1_000, currency, "key-x")
    with pytest.raises(UnsupportedCurrency):
        ledger.request_withdrawal(B, 1_000, currency, "key-y")
    assert ledger.check() == []


def test_webhook_confirms_a_pending_deposit_once(ledger: Ledger) -> None:
    ledger.payment_provider = WebhookProvider()
    deposit = ledger.create_deposit(A, 700, "CNY", "k")
    assert deposit.status is DepositStatus.PENDING
    assert ledger.balances(A, "CNY").available_minor == 0
    confirmed = ledger.confirm_deposit(deposit.provider_reference, succeeded=True)
    assert confirmed.status is DepositStatus.CONFIRMED
    ledger.confirm_deposit(deposit.provider_reference, succeeded=True)  # webhook retried
    assert ledger.balances(A, "CNY").available_minor == 700
    with pytest.raises(DepositAlreadyDecided):
        ledger.confirm_deposit(deposit.provider_reference, succeeded=False)
    failed = ledger.create_deposit(A, 50, "CNY", "k2")
    assert ledger.confirm_deposit(str(failed.id), succeeded=False).status is DepositStatus.FAILED
    assert ledger.balances(A, "CNY").available_minor == 700
    for unknown in ("not-a-uuid", str(deposit_uuid(str(A), "never"))):
        with pytest.raises(DepositNotFound):
            ledger.confirm_deposit(unknown, succeeded=True)
    assert ledger.check() == []


def test_webhook_signature() -> None:
    body = b'{"reference":"r","status":"succeeded"}'
    verify_signature("s3cret", body, sign("s3cret", body))
    for secret, signature in (("s3cret", None), ("s3cret", sign("other", body)), ("", "x")):
        with pytest.raises(InvalidSignature):
            verify_signature(secret, body, signature)
