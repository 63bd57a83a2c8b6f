"""``ring export``: the public topics as Parquet tables an analyst opens with DuckDB.

Each table is shaped like its topic: one row per event (deduplicated on ``event_id``, the
contract's dedupe key), the envelope's columns — ``event_id``, ``type``, ``occurred_at``,
``aggregate_id``, ``notification_id``, ``correlation_id``, ``causation_id`` — then the event's
own fields (a field some types lack is null there). ``occurred_at`` is a UTC ``TIMESTAMP``. Events are read from the topics, as any
consumer would (docs/analytics.md has example queries).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import msgspec

from ring_events.base import event_type
from ring_events.envelope import Envelope, UndecodableMessage, decode_envelope
from ring_events.topics import ALL_TOPICS
from ring_runtime.settings import Settings
from ring_runtime.topic_reader import read_topic

#: Table → the event types it holds (a prefix of the ``type`` tag).
TABLES: dict[str, tuple[str, ...]] = {
    "tasks": ("task.",),
    "orders": ("order.",),
    "vouchers": ("voucher.",),
    "settlements": (
        "ledger.commission_settled.",
        "ledger.dispute_outcome_executed.",
        "ledger.escrow_refunded.",
    ),
    "postings": ("ledger.funds_", "ledger.withdrawal_"),
    "disputes": ("dispute.",),
    "providers": ("provider.",),
}


class ExportReport(msgspec.Struct, frozen=True, kw_only=True):
    """Rows written per table (a table without rows is not written), and what was skipped."""

    rows: dict[str, int]
    duplicates: int
    undecodable: int


async def read_events(settings: Settings) -> tuple[list[Envelope], int, int]:
    """Every event on the public topics, once each; with the duplicates and undecodable
    records skipped."""
    seen: set[str] = set()
    envelopes: list[Envelope] = []
    duplicates = undecodable = 0
    for topic in ALL_TOPICS:
        records, _ = await read_topic(settings, topic)
        for record in records:
            try:
                envelope = decode_envelope(topic, record.key, record.value, record.headers)
            except UndecodableMessage:
                undecodable += 1
                continue
            if envelope.event_id in seen:
                duplicates += 1
                continue
            seen.add(envelope.event_id)
            envelopes.append(envelope)
    return envelopes, duplicates, undecodable


def table_rows(
    envelopes: Iterable[Envelope], since: datetime | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The rows of every table, oldest event first; only events at or after ``since``."""
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    for envelope in sorted(envelopes, key=lambda e: (e.occurred_at, e.notification_id)):
        if since is not None and envelope.occurred_at < since:
            continue
        kind = event_type(envelope.event)
        table = next((t for t, types in TABLES.items() if kind.startswith(types)), None)
        if table is None:
            continue
        fields = msgspec.to_builtins(envelope.event)
        fields.pop("type", None)
        fields.pop("occurred_at", None)
        tables[table].append(
            {
                "event_id": envelope.event_id,
                "type": kind,
                "occurred_at": envelope.occurred_at.astimezone(UTC)
                .replace(tzinfo=None)
                .isoformat(),
                "aggregate_id": envelope.key,
                "notification_id": envelope.notification_id,
                "correlation_id": envelope.correlation_id,
                "causation_id": envelope.causation_id,
                **fields,
            }
        )
    return tables


def write_parquet(tables: dict[str, list[dict[str, Any]]], out: Path) -> dict[str, int]:
    """Write each table with rows to ``out/<table>.parquet``; rows written per table."""
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as scratch, duckdb.connect() as db:
        for name, rows in tables.items():
            if not rows:
                continue
            source = Path(scratch) / f"{name}.jsonl"
            source.write_bytes(b"\n".join(msgspec.json.encode(row) for row in rows))
            target = out / f"{name}.parquet"
            db.execute(
                f"COPY (SELECT * REPLACE (CAST(occurred_at AS TIMESTAMP) AS occurred_at) "  # noqa: S608 - our own paths
                f"FROM read_json_auto('{_quoted(source)}', format='newline_delimited', "
                f"sample_size=-1)) TO '{_quoted(target)}' (FORMAT parquet)"
            )
            written[name] = len(rows)
    return written


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def export(settings: Settings, out: Path, since: datetime | None = None) -> ExportReport:
    """Read the topics and write the tables to ``out``."""
    envelopes, duplicates, undecodable = asyncio.run(read_events(settings))
    rows = write_parquet(table_rows(envelopes, since), out)
    return ExportReport(rows=rows, duplicates=duplicates, undecodable=undecodable)
