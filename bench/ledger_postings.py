"""Ledger postings per second through the production commands, next to a raw psycopg baseline.

Runs on the embedded PostgreSQL with fsync on (``durable=True``, as in production), in one run:

* ``ledger deposit``: one ``Ledger.create_deposit`` per save (the deposit and its transfer: 2
  postings in one commit);
* ``ledger settlement``: one ``Ledger.settle_commission`` per save (the saga step and its two
  transfers, commission and fee: 4 postings in one commit);
* ``raw insert+commit``: one ``INSERT`` + ``COMMIT`` per row with psycopg (the floor a commit
  costs on this disk);
* ``raw batched``: BATCH rows per ``COMMIT``.

A transfer is two postings (one debit, one credit). Each phase runs PHASE_SECONDS; the whole
run stays under a minute. Prints a table and writes the ``## Ledger`` section of
``bench/RESULTS.md``.

    .venv/bin/python bench/ledger_postings.py
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import psycopg

from ring_ledger.application import Ledger
from ring_runtime.embedded import EmbeddedPostgres, free_port
from ring_runtime.settings import load_settings
from ring_runtime.store import create_application

PHASE_SECONDS = 6.0
BATCH = 100
RESULTS = Path(__file__).with_name("RESULTS.md")
COMMAND = ".venv/bin/python bench/ledger_postings.py"


@dataclass(frozen=True)
class Figure:
    """One measured phase."""

    name: str
    commits: int
    postings: int
    seconds: float

    @property
    def postings_per_second(self) -> float:
        """Postings (rows for the baseline) per second."""
        return self.postings / self.seconds

    @property
    def commits_per_second(self) -> float:
        """Transactions per second."""
        return self.commits / self.seconds


def timed(name: str, step: Callable[[], int]) -> Figure:
    """Run ``step`` (returns postings it made in one commit) for PHASE_SECONDS."""
    commits = postings = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < PHASE_SECONDS:
        postings += step()
        commits += 1
    return Figure(name, commits, postings, elapsed)


def ledger_figures(ledger: Ledger) -> list[Figure]:
    """Deposits into one party's wallet, and slots of one big task settled to another party."""
    owner, provider, task = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ids = count()

    def deposit() -> int:
        ledger.create_deposit(owner, 10**9, "CNY", f"d{next(ids)}")
        return 2

    def settlement() -> int:
        ledger.settle_commission(task, uuid.uuid4(), provider, 1, 1)
        return 4

    deposits = timed("ledger deposit", deposit)
    ledger.request_funding(task, owner, 10**6, 1, 1, "CNY")
    return [deposits, timed("ledger settlement", settlement)]


def raw_figures(url: str) -> list[Figure]:
    """INSERT + COMMIT per row, and BATCH rows per COMMIT, with plain psycopg."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE bench_raw (id bigserial PRIMARY KEY, payload text NOT NULL)")
        conn.commit()

        def single() -> int:
            conn.execute("INSERT INTO bench_raw (payload) VALUES (%s)", ("posting",))
            conn.commit()
            return 1

        def batched() -> int:
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO bench_raw (payload) VALUES (%s)", [("posting",)] * BATCH
                )
            conn.commit()
            return BATCH

        return [timed("raw insert+commit", single), timed(f"raw batched ({BATCH})", batched)]


def render(figures: list[Figure]) -> str:
    """A Markdown table of the figures."""
    lines = [
        "| phase | postings/s | commits/s | postings | seconds |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {f.name} | {f.postings_per_second:,.0f} | {f.commits_per_second:,.0f} | "
        f"{f.postings:,} | {f.seconds:.1f} |"
        for f in figures
    ]
    return "\n".join(lines)


def write_section(table: str) -> None:
    """Replace (or add) the ``## Ledger`` section of bench/RESULTS.md."""
    section = (
        "## Ledger\n\n"
        f"Postings per second on the embedded PostgreSQL (fsync on), measured {time.strftime('%Y-%m-%d')} "
        f"on {os.cpu_count()} CPUs (nproc), Python {platform.python_version()}, {platform.system()}.\n"
        "A ledger transfer is 2 postings (debit + credit) plus its transfer record; a deposit "
        "saves one transfer, a settlement two, each atomically; raw rows are single-column "
        "inserts. Command: `" + COMMAND + "`\n\n"
        f"{table}\n"
    )
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(r"^## Ledger\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


def main() -> None:
    """Start PostgreSQL, measure, print, record."""
    scratch = Path(tempfile.mkdtemp(prefix="ring-bench-ledger-"))
    try:
        figures = measure(scratch / "postgres")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    table = render(figures)
    print(table)
    write_section(table)
    print(f"\nwritten to {RESULTS}", file=sys.stderr)


def measure(data_dir: Path) -> list[Figure]:
    """Every phase, on a fresh durable PostgreSQL cluster in ``data_dir``."""
    with EmbeddedPostgres(data_dir, free_port(), durable=True) as server:
        settings = load_settings(
            "ledger", {"RING_DATABASE_URL": server.url, "RING_DB_SCHEMA": "bench_ledger"}
        )
        ledger = create_application(Ledger, settings)
        try:
            figures = ledger_figures(ledger)
        finally:
            ledger.close()
        return figures + raw_figures(server.url)


if __name__ == "__main__":
    main()
