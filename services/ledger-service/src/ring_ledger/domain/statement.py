"""Statements: an account's stored events read back as postings, in order."""

from __future__ import annotations

from ring_ledger.domain.accounts import Account
from ring_ledger.domain.results import Posting


def posting_from_event(domain_event: object) -> Posting | None:
    """The statement entry for one stored Account event (None for non-posting events)."""
    if not isinstance(domain_event, Account.Change):
        return None
    return Posting(
        domain_event.originator_version,
        domain_event.transfer_id,
        domain_event.code,
        *domain_event.figures,
        domain_event.timestamp,
    )
