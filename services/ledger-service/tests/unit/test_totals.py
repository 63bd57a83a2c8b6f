"""Totals per currency and purpose, summed from accounts (``GET /internal/totals``)."""

from __future__ import annotations

from ring_ledger.domain import Account, AccountKey
from ring_ledger.domain.accounts import Purpose
from ring_ledger.totals import CurrencyTotals, LedgerTotals, totals_of


def _account(key: AccountKey, *, credit: int = 0, debit: int = 0, pending: int = 0) -> Account:
    account = Account.open(key)
    if credit:
        account.credit("t-credit", "test", credit)
    if debit:
        account.debit("t-debit", "test", debit)
    if pending:
        account.reserve_credit("t-pending", "test", pending)
    return account


def test_totals_sum_accounts_by_currency_and_purpose() -> None:
    accounts = [
        _account(AccountKey.platform(Purpose.DEPOSIT_CLEARING, "CNY"), debit=50_000),
        _account(AccountKey.available("a", "CNY"), credit=50_000, debit=21_000),
        _account(AccountKey.available("b", "CNY"), credit=10_000),
        _account(AccountKey.escrow("task-1", "CNY"), credit=21_000, debit=10_500),
        _account(AccountKey.platform(Purpose.FEE_REVENUE, "CNY"), credit=500),
        _account(AccountKey.platform(Purpose.PAYOUT_CLEARING, "CNY"), credit=3_000, pending=2_000),
        _account(AccountKey.platform(Purpose.DEPOSIT_CLEARING, "USD"), debit=700),
        _account(AccountKey.available("a", "USD"), credit=700),
    ]
    assert totals_of(accounts) == LedgerTotals(
        currencies=[
            CurrencyTotals(
                currency="CNY",
                fee_revenue_minor=500,
                escrow_held_minor=10_500,
                wallets_held_minor=39_000,
                deposits_minor=50_000,
                payouts_paid_minor=3_000,
                payouts_pending_minor=2_000,
            ),
            CurrencyTotals(currency="USD", wallets_held_minor=700, deposits_minor=700),
        ]
    )
    assert totals_of([]) == LedgerTotals(currencies=[])
