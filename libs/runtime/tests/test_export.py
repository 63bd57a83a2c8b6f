"""``ring export``: topics → Parquet tables that DuckDB reads; the documented queries run."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import duckdb
import pytest
from aiokafka import AIOKafkaProducer
from click.testing import CliRunner

from ring_events.envelope import Envelope, encode_envelope
from ring_events.registry import decoder_for
from ring_events.topics import LEDGER_EVENTS, TASK_EVENTS, VOUCHER_EVENTS
from ring_runtime.commands.export import export

ROOT = Path(__file__).parents[3]
GOLDEN = ROOT / "tests" / "contract" / "golden"
DOC = ROOT / "docs" / "analytics.md"
DAY_1 = datetime(2030, 1, 1, 9, tzinfo=UTC)
DAY_2 = DAY_1 + timedelta(days=1)
P1, P2 = str(uuid4()), str(uuid4())


def _envelope(topic: str, tag: str, at: datetime, key: str, **fields: Any) -> Envelope:
    body = json.loads((GOLDEN / topic / f"{tag}.json").read_text())
    body.update(fields, occurred_at=at.isoformat())
    event = decoder_for(topic).decode(json.dumps(body))
    return Envelope(
        event=event,
        topic=topic,
        key=key,
        notification_id=1,
        previous_notification_id=0,
        event_id=str(uuid4()),
        occurred_at=event.occurred_at,
        correlation_id="c",
        causation_id="c",
        source="test",
    )


def _lifecycle(published: datetime, settle_after: timedelta, provider: str) -> list[Envelope]:
    """A task published, one order settled after ``settle_after``, its voucher approved."""
    task, order = str(uuid4()), str(uuid4())
    settled = published + settle_after
    ids = {"task_id": task, "order_id": order, "provider_id": provider}
    return [
        _envelope(TASK_EVENTS, "task.published.v1", published, task, task_id=task),
        _envelope(VOUCHER_EVENTS, "voucher.approved.v1", settled, str(uuid4()), **ids),
        _envelope(
            LEDGER_EVENTS,
            "ledger.commission_settled.v1",
            settled,
            task,
            commission_minor=10_000,
            fee_minor=500,
            **ids,
        ),
        _envelope(TASK_EVENTS, "order.settled.v1", settled, order, commission_minor=10_000, **ids),
    ]


async def _publish(bootstrap: str, envelopes: list[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for envelope in envelopes:
            key, value, headers = encode_envelope(envelope)
            await producer.send_and_wait(envelope.topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


def _queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOC.read_text(), re.S)


def test_export_writes_topic_shaped_tables_and_the_documented_queries_run(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _lifecycle(DAY_1, timedelta(hours=1), P1)
    second = _lifecycle(DAY_2, timedelta(hours=3), P1)
    third = _lifecycle(DAY_2, timedelta(hours=2), P2)
    rejected = _envelope(VOUCHER_EVENTS, "voucher.rejected.v1", DAY_2, str(uuid4()), provider_id=P2)
    events = [*first, *second, *third, rejected]
    asyncio.run(_publish(kafka_bootstrap, [*events, first[2]]))  # one settlement republished

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        export,
        ["--format", "parquet", "--out", "export"],
        env={"RING_KAFKA_BOOTSTRAP": kafka_bootstrap},
    )
    assert result.exit_code == 0, result.output
    assert "export/settlements.parquet: 3 row(s)" in result.output
    assert "skipped 1 duplicate(s)" in result.output

    gmv, median, approvals = (_rows(query) for query in _queries())
    assert gmv == [(DAY_1.date(), "CNY", 10_500, 1), (DAY_2.date(), "CNY", 21_000, 2)]
    assert median == [(7200.0,)]
    by_provider = sorted((str(p), *rest) for p, *rest in approvals)
    assert by_provider == sorted([(P1, 2, 0, 1.0), (P2, 1, 1, 0.5)])

    columns = [c[0] for c in _rows("DESCRIBE SELECT * FROM 'export/orders.parquet'")]
    assert columns[:7] == [
        "event_id",
        "type",
        "occurred_at",
        "aggregate_id",
        "notification_id",
        "correlation_id",
        "causation_id",
    ]

    later = CliRunner().invoke(
        export,
        ["--out", "later", "--since", DAY_2.isoformat()],
        env={"RING_KAFKA_BOOTSTRAP": kafka_bootstrap},
    )
    assert later.exit_code == 0, later.output
    assert "later/settlements.parquet: 2 row(s)" in later.output
    naive = CliRunner().invoke(export, ["--out", "x", "--since", "2030-01-02T00:00:00"])
    assert naive.exit_code == 2


def _rows(query: str) -> list[Any]:
    """The rows of a DuckDB query (one that returns a relation)."""
    relation = duckdb.sql(query)
    assert relation is not None
    return relation.fetchall()
