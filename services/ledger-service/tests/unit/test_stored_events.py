"""Events the ledger stored before still load: same topics, same state, same aggregates.

``data/stored_events_v1.json`` was recorded by the ledger's earlier code (aggregate events
declared with ``@event("Name")`` decorators, before session 9) from :func:`scenario`, which
raises every kind of ledger event at least once. It holds, per event, the stored topic and
state exactly as the event store keeps them, and per aggregate the attributes its replay gave.
Never regenerate it: it stands for databases written by that code. A new event class is added
to the scenario and the file gets the new events appended, recorded once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

from ring_ledger.application import Ledger
from ring_ledger.domain import (
    Account,
    AccountKey,
    Deposit,
    Escrow,
    Purpose,
    SettlementSaga,
    Transfer,
    Wallet,
    Withdrawal,
)

GOLDEN = Path(__file__).parent / "data" / "stored_events_v1.json"
POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
A = "5f1d2c4b-8e7a-4b3c-9d2e-1a0b9c8d7e6f"
B = "3a4b5c6d-7e8f-4a0b-8c2d-3e4f5a6b7c8d"
T = "0b9c6a3e-3f44-4c5e-9a61-2f0c1f6a7a01"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def scenario() -> list[Aggregate]:
    """Aggregates whose pending events cover every ledger event class."""
    account = Account.open(AccountKey(A, Purpose.AVAILABLE, "CNY"))
    account.credit("t1", "deposit", 10_000)
    account.debit("t2", "transfer", 1_000)
    account.reserve_debit("t3", "hold", 2_000)
    account.reserve_credit("t4", "hold", 3_000)
    account.resolve_debit("t3", "hold", 2_000, 1_500)
    account.resolve_credit("t4", "hold", 3_000, 0)

    wallet = Wallet(party_id=A, currency="CNY")
    wallet.add_escrow(T)

    paid, cancelled = (
        Withdrawal(
            party_id=B, idempotency_key=key, amount_minor=amount, currency="CNY", clears_at=NOW
        )
        for key, amount in (("w1", 700), ("w2", 800))
    )
    paid.pay(NOW + timedelta(hours=1))
    cancelled.cancel()

    confirmed, failed = (
        Deposit(
            party_id=A,
            idempotency_key=key,
            amount_minor=amount,
            currency="CNY",
            provider="fake",
            provider_reference=f"ref-{key}",
        )
        for key, amount in (("d1", 5_000), ("d2", 6_000))
    )
    confirmed.confirm()
    failed.fail("card declined")

    escrow = Escrow(
        task_id=T, owner_id=A, currency="CNY", slots=3, commission_minor=1_000, fee_minor=50
    )
    escrow.settle("o1", B, 100)
    escrow.release("r1", 1)

    posted, voided = (
        Transfer(
            transfer_id=transfer_id,
            debit_account_id=AccountKey.available(A, "CNY").id,
            credit_account_id=AccountKey.available(B, "CNY").id,
            amount_minor=amount,
            currency="CNY",
            code="hold",
            pending=True,
        )
        for transfer_id, amount in (("p1", 900), ("p2", 400))
    )
    posted.post(600)
    voided.void()

    saga = SettlementSaga(task_id=T, owner_id=A, currency="CNY")
    saga.request_funding(3, 1_000, 50)
    saga.reject(1_150)
    saga.request_funding(3, 1_000, 50)
    saga.reserve()
    saga.settle_commission("o1", B, 1_000, 50)
    saga.execute_outcome("o2", B, 60, 600, 30, 420)
    saga.close("task.completed", 1, 1_050)

    return [account, wallet, paid, cancelled, confirmed, failed, escrow, posted, voided, saga]


def observed(aggregate: Aggregate) -> dict[str, str]:
    """What a replay gave: every attribute but the pending events, as text."""
    return {
        name: repr(value)
        for name, value in sorted(vars(aggregate).items())
        if name != "_pending_events"
    }


def record(ledger: Ledger) -> dict[str, Any]:
    """The golden file's content, from :func:`scenario` (run once, by the earlier code)."""
    aggregates = scenario()
    events = [event for aggregate in aggregates for event in aggregate.collect_events()]
    stored = [ledger.mapper.to_stored_event(event) for event in events]
    return {
        "events": [
            {
                "originator_id": str(s.originator_id),
                "originator_version": s.originator_version,
                "topic": s.topic,
                "state": s.state.decode("utf-8"),
            }
            for s in stored
        ],
        "aggregates": {str(a.id): observed(a) for a in aggregates},
    }


GOLDEN_CONTENT: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))


def _stored(item: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(item["originator_id"]),
        originator_version=item["originator_version"],
        topic=item["topic"],
        state=item["state"].encode("utf-8"),
    )


def test_events_stored_by_the_earlier_code_replay_to_the_same_aggregates() -> None:
    ledger = Ledger(env=POPO)
    ledger.recorder.insert_events([_stored(item) for item in GOLDEN_CONTENT["events"]])
    for aggregate_id, attributes in GOLDEN_CONTENT["aggregates"].items():
        assert observed(ledger.repository.get(UUID(aggregate_id))) == attributes


def test_every_stored_event_decodes_to_an_event_of_its_topic() -> None:
    ledger = Ledger(env=POPO)
    for item in GOLDEN_CONTENT["events"]:
        event = ledger.mapper.to_domain_event(_stored(item))
        assert f"{type(event).__module__}:{type(event).__qualname__}" == item["topic"]


def test_new_events_keep_the_stored_topics_and_state_fields() -> None:
    recorded = [
        (item["topic"], sorted(json.loads(item["state"]))) for item in GOLDEN_CONTENT["events"]
    ]
    now = [
        (item["topic"], sorted(json.loads(item["state"])))
        for item in record(Ledger(env=POPO))["events"]
    ]
    assert now == recorded


def test_the_scenario_covers_every_ledger_event_class() -> None:
    topics = {item["topic"] for item in GOLDEN_CONTENT["events"]}
    assert len(topics) == 29
