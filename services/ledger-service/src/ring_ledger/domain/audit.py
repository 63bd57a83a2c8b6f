"""Ledger audit (``ring ledger check``): invariants that must hold over all accounts.

1. Double entry: per currency, posted debits equal posted credits and pending debits equal
   pending credits (every posting set sums to zero).
2. No account flagged ``must_not_go_negative`` has debits (posted + pending) above its credits.
3. Every task's escrow account balance equals the open obligations of the task:
   ``open_slots x (commission + fee)``, with nothing pending on it.
4. The platform's own accounts agree with the business records behind them: fee revenue holds
   the fees of every settled slot, deposit clearing the confirmed deposits, payout clearing the
   paid (posted) and requested (pending) withdrawals.

The rules read *figures*: an :class:`~ring_ledger.domain.accounts.Account` aggregate, or a row
of the ledger's balances read model, satisfy :class:`AccountFigures` alike, so the full audit
(aggregates) and the incremental one (read model) apply the same rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from ring_ledger.domain.accounts import PLATFORM, AccountKey, Purpose
from ring_ledger.domain.results import Violation


class AccountFigures(Protocol):
    """What the audit reads of an account."""

    @property
    def id(self) -> UUID: ...
    @property
    def key(self) -> AccountKey: ...
    @property
    def currency(self) -> str: ...
    @property
    def must_not_go_negative(self) -> bool: ...
    @property
    def debits_posted(self) -> int: ...
    @property
    def credits_posted(self) -> int: ...
    @property
    def debits_pending(self) -> int: ...
    @property
    def credits_pending(self) -> int: ...
    @property
    def balance(self) -> int: ...
    @property
    def available(self) -> int: ...


class EscrowFigures(Protocol):
    """What the audit reads of a task's escrow."""

    @property
    def task_id(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def open_slots(self) -> int: ...
    @property
    def slot_minor(self) -> int: ...
    @property
    def obligation_minor(self) -> int: ...


@dataclass(slots=True)
class PlatformFlows:
    """Money the platform's own accounts must mirror, in one currency, from business records."""

    currency: str
    deposits_confirmed_minor: int = 0
    fees_settled_minor: int = 0
    payouts_paid_minor: int = 0
    payouts_pending_minor: int = 0

    def deposit_confirmed(self, amount_minor: int) -> None:
        """A deposit was confirmed by the payment provider."""
        self.deposits_confirmed_minor += amount_minor

    def fee_settled(self, amount_minor: int) -> None:
        """A slot left escrow and the platform kept ``amount_minor`` of fee."""
        self.fees_settled_minor += amount_minor

    def payout_requested(self, amount_minor: int) -> None:
        """A withdrawal was requested (reserved until it clears)."""
        self.payouts_pending_minor += amount_minor

    def payout_paid(self, amount_minor: int) -> None:
        """A requested withdrawal was paid out."""
        self.payouts_pending_minor -= amount_minor
        self.payouts_paid_minor += amount_minor

    def payout_cancelled(self, amount_minor: int) -> None:
        """A requested withdrawal was cancelled before payment."""
        self.payouts_pending_minor -= amount_minor


def find_violations(
    accounts: Iterable[AccountFigures],
    escrows: Iterable[EscrowFigures],
    flows: Iterable[PlatformFlows] | None = None,
) -> list[Violation]:
    """Every broken invariant among ``accounts`` and ``escrows`` (empty when all hold).

    With ``flows``, the platform's accounts are also compared with them (rule 4).
    """
    by_id = {account.id: account for account in accounts}
    violations = _unbalanced_currencies(by_id.values())
    violations += [
        Violation(
            "negative_balance",
            str(account.key),
            f"available {account.available} < 0 on a must-not-go-negative account",
        )
        for account in by_id.values()
        if account.must_not_go_negative and account.available < 0
    ]
    for escrow in escrows:
        account = by_id.get(AccountKey.escrow(escrow.task_id, escrow.currency).id)
        held = 0 if account is None else account.balance
        pending = 0 if account is None else account.debits_pending + account.credits_pending
        if held != escrow.obligation_minor or pending:
            violations.append(
                Violation(
                    "escrow_mismatch",
                    f"task {escrow.task_id}",
                    f"escrow holds {held} (pending {pending}) but open obligations are "
                    f"{escrow.open_slots} x {escrow.slot_minor} = {escrow.obligation_minor}",
                )
            )
    if flows is not None:
        violations += platform_mismatches(by_id.values(), flows)
    return violations


def platform_mismatches(
    accounts: Iterable[AccountFigures], flows: Iterable[PlatformFlows]
) -> list[Violation]:
    """Where a platform account disagrees with the business records it mirrors (rule 4)."""
    platform = {(a.key.purpose, a.currency): a for a in accounts if a.key.owner == PLATFORM}
    by_currency = {flow.currency: flow for flow in flows}
    for _, currency in platform:
        by_currency.setdefault(currency, PlatformFlows(currency))
    violations = []
    for flow in sorted(by_currency.values(), key=lambda f: f.currency):
        expected = {
            (Purpose.FEE_REVENUE, "balance"): flow.fees_settled_minor,
            (Purpose.DEPOSIT_CLEARING, "debits_posted"): flow.deposits_confirmed_minor,
            (Purpose.PAYOUT_CLEARING, "credits_posted"): flow.payouts_paid_minor,
            (Purpose.PAYOUT_CLEARING, "credits_pending"): flow.payouts_pending_minor,
        }
        for (purpose, figure), wanted in expected.items():
            account = platform.get((purpose, flow.currency))
            found = 0 if account is None else getattr(account, figure)
            if found != wanted:
                violations.append(
                    Violation(
                        "platform_mismatch",
                        f"platform/{purpose.value}/{flow.currency}",
                        f"{figure} {found} but the records behind it say {wanted}",
                    )
                )
    return violations


def _unbalanced_currencies(accounts: Iterable[AccountFigures]) -> list[Violation]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for account in accounts:
        total = totals[account.currency]
        total[0] += account.debits_posted
        total[1] += account.credits_posted
        total[2] += account.debits_pending
        total[3] += account.credits_pending
    violations = []
    for currency, (debits, credits, pending_debits, pending_credits) in sorted(totals.items()):
        if debits != credits:
            violations.append(
                Violation("unbalanced_postings", currency, f"debits {debits} ≠ credits {credits}")
            )
        if pending_debits != pending_credits:
            violations.append(
                Violation(
                    "unbalanced_pending",
                    currency,
                    f"pending debits {pending_debits} ≠ pending credits {pending_credits}",
                )
            )
    return violations
