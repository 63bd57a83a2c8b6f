"""Statements: an account's stored events read back as postings, in order."""

from __future__ import annotations

from typing import Any

from ring_ledger.domain.results import Posting

#: Event name -> which totals it moves: (debit, credit, pending debit, pending credit).
_EFFECTS: dict[str, tuple[int, int, int, int]] = {
    "Debited": (1, 0, 0, 0),
    "Credited": (0, 1, 0, 0),
    "DebitReserved": (0, 0, 1, 0),
    "CreditReserved": (0, 0, 0, 1),
}


def posting_from_event(domain_event: Any) -> Posting | None:
    """The statement entry for one stored Account event (None for non-posting events)."""
    name = type(domain_event).__name__
    sequence = domain_event.originator_version
    at = domain_event.timestamp
    if name in _EFFECTS:
        amount = domain_event.amount_minor
        debit, credit, pending_debit, pending_credit = (x * amount for x in _EFFECTS[name])
        return Posting(
            sequence,
            domain_event.transfer_id,
            domain_event.code,
            debit,
            credit,
            pending_debit,
            pending_credit,
            at,
        )
    if name in ("ReservedDebitResolved", "ReservedCreditResolved"):
        posted, reserved = domain_event.posted_minor, domain_event.reserved_minor
        is_debit = name == "ReservedDebitResolved"
        return Posting(
            sequence,
            domain_event.transfer_id,
            domain_event.code,
            posted if is_debit else 0,
            0 if is_debit else posted,
            -reserved if is_debit else 0,
            0 if is_debit else -reserved,
            at,
        )
    return None
