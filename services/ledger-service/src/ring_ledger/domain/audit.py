"""Ledger audit (``ring ledger check``): invariants that must hold over all accounts.

1. Double entry: per currency, posted debits equal posted credits and pending debits equal
   pending credits (every posting set sums to zero).
2. No account flagged ``must_not_go_negative`` has debits (posted + pending) above its credits.
3. Every task's escrow account balance equals the open obligations of the task:
   ``open_slots x (commission + fee)``, with nothing pending on it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ring_ledger.domain.accounts import Account, AccountKey
from ring_ledger.domain.escrow import Escrow
from ring_ledger.domain.results import Violation


def find_violations(accounts: Iterable[Account], escrows: Iterable[Escrow]) -> list[Violation]:
    """Every broken invariant among ``accounts`` and ``escrows`` (empty when all hold)."""
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
    return violations


def _unbalanced_currencies(accounts: Iterable[Account]) -> list[Violation]:
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
