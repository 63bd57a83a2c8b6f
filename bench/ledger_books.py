"""Ledger totals and ``ring ledger check`` at scale: the books against loading every account.

Fills a fresh embedded PostgreSQL (fsync off: only the reads are measured) with ``--events``
ledger events over ``--accounts`` party accounts, then measures on one run. The events are
recorded by the real ``Ledger`` application's production commands — deposits, then per batch a
task escrow of BATCH slots funded and each slot settled to another party — on the in-memory
event store,
and copied (``COPY``, in notification order, with their snapshots and one correlation per save)
into the ledger's PostgreSQL tables: the same rows the service would have written, at a
fraction of the time (recording through PostgreSQL ran at ~25 events/s on this machine, so a
million events would take half a day). Then:

* ``books catch-up from zero``: the books' follower applying the whole log (what a new
  deployment or a rebuild does once);

* ``totals from the books``: ``GET /internal/totals``' query (p50 / p99 over ``--samples``);
* ``totals by loading every account``: what the endpoint did before (one sample);
* ``check, incremental``: ``ring ledger check`` after one more deposit (the usual case: a
  checkpoint from the previous clean run);
* ``check, full``: ``ring ledger check --full`` (every account loaded from the log).

Prints a table and writes the ``## Ledger books`` section of ``bench/RESULTS.md``.

    .venv/bin/python bench/ledger_books.py --events 100000
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from psycopg.sql import SQL, Identifier

from ring_ledger.application import Ledger
from ring_ledger.checks import LedgerCheck
from ring_ledger.projections import BooksProjection
from ring_ledger.totals import totals_of
from ring_runtime.embedded import EmbeddedPostgres, free_port
from ring_runtime.settings import load_settings
from ring_runtime.store import RingApplication, create_application

RESULTS = Path(__file__).with_name("RESULTS.md")
BATCH = 20  # slots of one task, each settled in its own save


def record(ledger: Ledger, events: int, accounts: int) -> list[int]:
    """Record about ``events`` events with ``ledger``'s commands; the notification id ending
    each save (so each save gets its own correlation id when copied)."""
    saves: list[int] = []

    def saved() -> None:
        saves.append(ledger.recorder.max_notification_id() or 0)

    parties = [party_id(n) for n in range(accounts)]
    for n, party in enumerate(parties):
        ledger.create_deposit(party, 10**12, "CNY", f"seed-{n}")
        saved()
    batch = 0
    while saves[-1] < events:
        task = uuid.UUID(int=batch)
        ledger.request_funding(task, parties[batch % accounts], BATCH, 1_000, 50, "CNY")
        saved()
        for n in range(BATCH):
            order = uuid.UUID(int=batch * BATCH + n)
            ledger.settle_commission(task, order, parties[(batch + n + 1) % accounts], 1_000, 50)
            saved()
        batch += 1
        if batch % 10 == 0:
            print(f"  {saves[-1]:,} events recorded in memory", file=sys.stderr)
    return saves


def party_id(n: int) -> uuid.UUID:
    """The id of the ``n``-th party of the run."""
    return uuid.UUID(int=(1 << 64) + n)


def copy_into(target: RingApplication, source: Ledger, saves: list[int]) -> None:
    """Copy every event ``source`` recorded (and the latest snapshot of each aggregate) into
    ``target``'s PostgreSQL tables, in notification order, each save under one correlation."""
    recorder: Any = target.recorder
    schema = Identifier(recorder.datastore.schema)
    snapshots: Any = target.snapshots.recorder if target.snapshots else None
    originators: set[Any] = set()
    with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
        events_copy = SQL(
            "COPY {}.{} (originator_id, originator_version, topic, state) FROM STDIN (FORMAT BINARY)"
        ).format(schema, Identifier(recorder.events_table_name))
        context_copy = SQL(
            "COPY {}.{} (originator_id, originator_version, correlation_id, causation_id) "
            "FROM STDIN (FORMAT BINARY)"
        ).format(schema, Identifier(recorder.context_table_name))
        position, save = 0, 0
        correlation = str(uuid.uuid4())
        while notifications := source.recorder.select_notifications(position + 1, 50_000):
            with cursor.copy(events_copy) as copy:
                copy.set_types(["uuid", "int8", "text", "bytea"])
                for n in notifications:
                    copy.write_row((n.originator_id, n.originator_version, n.topic, n.state))
            with cursor.copy(context_copy) as copy:
                copy.set_types(["uuid", "int8", "text", "text"])
                for n in notifications:
                    while saves[save] < n.id:
                        save, correlation = save + 1, str(uuid.uuid4())
                    copy.write_row(
                        (n.originator_id, n.originator_version, correlation, correlation)
                    )
                    originators.add(n.originator_id)
            position = notifications[-1].id
            conn.commit()
            print(f"  {position:,} events copied", file=sys.stderr)
        if snapshots is not None and source.snapshots is not None:
            snapshot_copy = SQL(
                "COPY {}.{} (originator_id, originator_version, topic, state) "
                "FROM STDIN (FORMAT BINARY)"
            ).format(schema, Identifier(snapshots.events_table_name))
            with cursor.copy(snapshot_copy) as copy:
                copy.set_types(["uuid", "int8", "text", "bytea"])
                for originator in originators:
                    for s in source.snapshots.recorder.select_events(
                        originator, desc=True, limit=1
                    ):
                        copy.write_row((s.originator_id, s.originator_version, s.topic, s.state))
            conn.commit()


def timed(step: Callable[[], Any], label: str = "") -> float:
    """Seconds ``step`` took; with a ``label``, also told on stderr (so a run stopped early
    still shows what it measured)."""
    started = time.perf_counter()
    step()
    seconds = time.perf_counter() - started
    if label:
        load = os.getloadavg()[0]
        print(f"  {label}: {seconds:.2f} s (load average {load:.1f})", file=sys.stderr)
    return seconds


def measure(data_dir: Path, events: int, accounts: int, samples: int) -> list[tuple[str, str]]:
    """Every figure, on a fresh PostgreSQL cluster in ``data_dir``."""
    with EmbeddedPostgres(data_dir, free_port(), durable=False) as server:
        settings = load_settings(
            "ledger", {"RING_DATABASE_URL": server.url, "RING_DB_SCHEMA": "bench_books"}
        )
        ledger = create_application(Ledger, settings)
        books = BooksProjection(ledger, settings)
        try:
            # The commands find their aggregates in the repository's cache (not copied out of
            # it: no command fails here), so recording costs the domain's work, not replays.
            in_memory = Ledger(
                env={
                    "PERSISTENCE_MODULE": "eventsourcing.popo",
                    "AGGREGATE_CACHE_MAXSIZE": "1000000",
                    "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
                }
            )
            started = time.perf_counter()
            saves = record(in_memory, events, accounts)
            recorded = time.perf_counter() - started
            started = time.perf_counter()
            copy_into(ledger, in_memory, saves)
            copied = time.perf_counter() - started
            print(f"  recorded {recorded:.0f} s, copied {copied:.0f} s", file=sys.stderr)
            del in_memory, saves
            stored = ledger.recorder.max_notification_id() or 0
            catch_up = timed(books.open, "books catch-up")
            check = LedgerCheck(ledger, books)
            first = timed(check.run, "first check")
            latencies = sorted(timed(books.totals) for _ in range(samples))
            print(f"  totals p50 {statistics.median(latencies) * 1000:.1f} ms", file=sys.stderr)
            ledger.create_deposit(party_id(0), 1, "CNY", "one-more")
            incremental = timed(check.run, "incremental check")
            legacy = timed(lambda: totals_of(ledger.accounts()), "totals by loading")
            full = timed(lambda: check.run(full=True), "full check")
        finally:
            books.close()
            ledger.close()
    p99 = latencies[max(0, round(0.99 * len(latencies)) - 1)]
    return [
        ("stored events", f"{stored:,}"),
        (
            "record them (in memory) / copy them into PostgreSQL",
            f"{recorded:.0f} s / {copied:.0f} s",
        ),
        ("accounts", f"{accounts + 1:,}"),
        (
            "books catch-up from zero (once)",
            f"{catch_up:.1f} s ({stored / catch_up:,.0f} events/s)",
        ),
        ("first check (no checkpoint)", f"{first:.1f} s"),
        ("totals from the books, p50", f"{statistics.median(latencies) * 1000:.1f} ms"),
        ("totals from the books, p99", f"{p99 * 1000:.1f} ms ({samples} samples)"),
        ("totals by loading every account (before)", f"{legacy * 1000:.0f} ms"),
        ("check, incremental (one new deposit)", f"{incremental * 1000:.0f} ms"),
        ("check, full", f"{full:.1f} s"),
    ]


def render(rows: list[tuple[str, str]]) -> str:
    """A markdown table of ``rows``."""
    return "\n".join(["| measure | value |", "| --- | --- |", *(f"| {a} | {b} |" for a, b in rows)])


def write_section(table: str, command: str) -> None:
    """Replace (or append) the ``## Ledger books`` section of RESULTS.md."""
    section = (
        f"## Ledger books\n\nMeasured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, embedded PostgreSQL (fsync off), one process.\n"
        f"Command: `{command}`\n\n{table}\n"
    )
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmarks\n"
    pattern = re.compile(r"## Ledger books\n.*?(?=\n## |\Z)", re.DOTALL)
    text = pattern.sub(section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


def main() -> None:
    """Parse arguments, measure, print, record."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=1_800)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="ring-bench-books-"))
    try:
        rows = measure(scratch / "postgres", args.events, args.accounts, args.samples)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    table = render(rows)
    print(table)
    command = (
        f".venv/bin/python bench/ledger_books.py --events {args.events} --accounts {args.accounts}"
    )
    write_section(table, command)


if __name__ == "__main__":
    main()
