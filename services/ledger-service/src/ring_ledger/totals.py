"""Platform money totals per currency (``GET /internal/totals``), summed by purpose:

- ``fee_revenue_minor``: posted balance of the platform's fee revenue account;
- ``escrow_held_minor``: posted balances of every task escrow account;
- ``wallets_held_minor``: posted balances of every party's available account (money the
  platform owes its users, including amounts reserved for requested payouts);
- ``deposits_minor``: debits posted on deposit clearing (confirmed deposits);
- ``payouts_paid_minor`` / ``payouts_pending_minor``: credits posted / pending on payout
  clearing (paid payouts / requested ones still in clearance).

Served from the ledger's books (:mod:`ring_ledger.projections`): one grouped query, whatever
the length of the history.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from ring_ledger.domain.accounts import Purpose
from ring_ledger.domain.audit import AccountFigures


class CurrencyTotals(msgspec.Struct, kw_only=True):
    """The platform's money in one currency, in minor units."""

    currency: str
    fee_revenue_minor: int = 0
    escrow_held_minor: int = 0
    wallets_held_minor: int = 0
    deposits_minor: int = 0
    payouts_paid_minor: int = 0
    payouts_pending_minor: int = 0


class LedgerTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Totals per currency, ordered by currency code."""

    currencies: list[CurrencyTotals]


def totals_of(accounts: Iterable[AccountFigures]) -> LedgerTotals:
    """Sum ``accounts`` by currency and purpose."""
    found: dict[str, CurrencyTotals] = {}
    for account in accounts:
        row = found.setdefault(account.currency, CurrencyTotals(currency=account.currency))
        purpose = account.key.purpose
        if purpose is Purpose.FEE_REVENUE:
            row.fee_revenue_minor += account.balance
        elif purpose is Purpose.ESCROW:
            row.escrow_held_minor += account.balance
        elif purpose is Purpose.AVAILABLE:
            row.wallets_held_minor += account.balance
        elif purpose is Purpose.DEPOSIT_CLEARING:
            row.deposits_minor += account.debits_posted
        elif purpose is Purpose.PAYOUT_CLEARING:
            row.payouts_paid_minor += account.credits_posted
            row.payouts_pending_minor += account.credits_pending
    return LedgerTotals(currencies=[found[code] for code in sorted(found)])
