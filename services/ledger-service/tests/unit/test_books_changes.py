"""A batch of the ledger's events folds into one change per row that equals the aggregates."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from eventsourcing.utils import get_topic

from ring_ledger.application import Ledger
from ring_ledger.projections import BOOKED_EVENTS, BooksChanges

from .conftest import make_ledger


def _log(ledger: Ledger) -> list[Any]:
    topics = [get_topic(cls) for cls in BOOKED_EVENTS]
    notifications = ledger.recorder.select_notifications(1, 10_000, topics=topics)
    return [ledger.mapper.to_domain_event(n) for n in notifications]


def test_one_batch_of_the_whole_log_equals_every_account_escrow_and_flow() -> None:
    ledger = make_ledger()
    owner, provider_1, provider_2, task = uuid4(), uuid4(), uuid4(), uuid4()
    for n in range(3):
        ledger.create_deposit(owner, 10_000, "CNY", f"deposit-{n}")
    ledger.request_funding(task, owner, 3, 1_000, 50, "CNY")
    ledger.settle_commission(task, uuid4(), provider_1, 1_000, 50)
    ledger.execute_dispute_outcome(task, uuid4(), provider_2, 60)
    ledger.release_unused_escrow(task, "task-cancelled")
    ledger.request_withdrawal(provider_1, 400, "CNY", "payout-1")

    changes = BooksChanges()
    for event in _log(ledger):
        changes.add(event)

    opened = {row[0]: row for row in changes.opened}
    accounts = ledger.accounts()
    assert set(opened) == {account.id for account in accounts}
    for account in accounts:
        figures = (
            account.debits_posted,
            account.credits_posted,
            account.debits_pending,
            account.credits_pending,
        )
        *sums, version = changes.postings.get(account.id, [0, 0, 0, 0, opened[account.id][5]])
        assert (tuple(sums), version) == (figures, account.version), account.key
    (escrow,) = ledger.escrows()
    (funded,) = changes.funded
    slots, version, fees = changes.closed[escrow.id]
    assert (funded[5] - slots, version) == (escrow.open_slots, escrow.version)
    # Fees are added once the escrow's currency is known (when the batch is written).
    (flows,) = changes.flows.values()
    changes.flow("CNY", "fee_settled", fees)
    assert flows == next(iter(ledger.platform_flows()))
