"""Ledger totals and ``ring ledger check`` at scale: the books against loading every account.

Fills a fresh embedded PostgreSQL (fsync off: only the reads are measured) with ``--events``
ledger events over ``--accounts`` party accounts (deposits, then batches of transfers between
parties), then measures on one run:

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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ring_ledger.application import Ledger, TransferRequest
from ring_ledger.checks import LedgerCheck
from ring_ledger.domain import AccountKey
from ring_ledger.projections import BooksProjection
from ring_ledger.totals import totals_of
from ring_runtime.embedded import EmbeddedPostgres, free_port
from ring_runtime.settings import load_settings
from ring_runtime.store import create_application

RESULTS = Path(__file__).with_name("RESULTS.md")
BATCH = 200  # transfers per save: 600 events


def fill(ledger: Ledger, events: int, accounts: int) -> int:
    """Record about ``events`` events; returns how many the store holds."""
    for party in range(accounts):
        ledger.create_deposit(f"party-{party}", 10**12, "CNY", f"seed-{party}")
    batch = 0
    while (head := ledger.recorder.max_notification_id() or 0) < events:
        requests = [
            TransferRequest(
                f"t-{batch}-{n}",
                AccountKey.available(f"party-{(batch + n) % accounts}", "CNY"),
                AccountKey.available(f"party-{(batch + n + 1) % accounts}", "CNY"),
                1 + n,
            )
            for n in range(BATCH)
        ]
        ledger.transfer_batch(requests)
        batch += 1
        if batch % 50 == 0:
            print(f"  {head:,} events", file=sys.stderr)
    return head


def timed(step: Callable[[], Any]) -> float:
    """Seconds ``step`` took."""
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def measure(data_dir: Path, events: int, accounts: int, samples: int) -> list[tuple[str, str]]:
    """Every figure, on a fresh PostgreSQL cluster in ``data_dir``."""
    with EmbeddedPostgres(data_dir, free_port(), durable=False) as server:
        settings = load_settings(
            "ledger", {"RING_DATABASE_URL": server.url, "RING_DB_SCHEMA": "bench_books"}
        )
        ledger = create_application(Ledger, settings)
        books = BooksProjection(ledger, settings)
        try:
            fill_seconds = timed(lambda: fill(ledger, events, accounts))
            stored = ledger.recorder.max_notification_id() or 0
            catch_up = timed(books.open)
            check = LedgerCheck(ledger, books)
            first = timed(check.run)
            latencies = sorted(timed(books.totals) for _ in range(samples))
            legacy = timed(lambda: totals_of(ledger.accounts()))
            ledger.create_deposit("party-0", 1, "CNY", "one-more")
            incremental = timed(check.run)
            full = timed(lambda: check.run(full=True))
        finally:
            books.close()
            ledger.close()
    p99 = latencies[max(0, round(0.99 * len(latencies)) - 1)]
    return [
        ("stored events", f"{stored:,} ({fill_seconds:.0f} s to record)"),
        ("accounts", f"{accounts + 1:,}"),
        ("books catch-up from zero (once)", f"{catch_up:.1f} s"),
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
