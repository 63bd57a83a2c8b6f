"""Totals per currency and purpose, summed from accounts (``GET /internal/totals``)."""

from __future__ import annotations

from uuid import uuid4

from ring_ledger.application import SNAPSHOT_INTERVAL
from ring_ledger.domain import Account, AccountKey
from ring_ledger.domain.accounts import Purpose
from ring_ledger.totals import CurrencyTotals, LedgerTotals, totals_of

from .conftest import make_ledger


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


def test_totals_count_platform_accounts_restored_from_snapshots() -> None:
    """Known deposits and fees, posted well past the snapshot interval, all add up.

    The platform's fee revenue and deposit clearing accounts get a snapshot every
    ``SNAPSHOT_INTERVAL`` events; once loaded from one they used to drop out of the totals.
    """
    ledger = make_ledger()
    owner, task = uuid4(), uuid4()
    deposits = SNAPSHOT_INTERVAL + 7
    for n in range(deposits):
        ledger.create_deposit(owner, 1_000, "CNY", f"deposit-{n}")
    slots, settled, commission, fee = SNAPSHOT_INTERVAL + 3, SNAPSHOT_INTERVAL + 1, 300, 15
    ledger.request_funding(task, owner, slots, commission, fee, "CNY")
    for _ in range(settled):
        ledger.settle_commission(task, uuid4(), uuid4(), commission, fee)

    fee_revenue = ledger.get_account(AccountKey.platform(Purpose.FEE_REVENUE, "CNY"))
    assert fee_revenue is not None
    assert fee_revenue.version > SNAPSHOT_INTERVAL
    escrow = ledger.get_escrow(task)
    assert escrow is not None
    assert escrow.version > SNAPSHOT_INTERVAL
    assert totals_of(ledger.accounts()) == LedgerTotals(
        currencies=[
            CurrencyTotals(
                currency="CNY",
                fee_revenue_minor=settled * fee,
                escrow_held_minor=(slots - settled) * (commission + fee),
                wallets_held_minor=deposits * 1_000
                - slots * (commission + fee)
                + settled * commission,
                deposits_minor=deposits * 1_000,
            )
        ]
    )
    assert ledger.check() == []
