"""Tamper evidence at scale: chaining, ``ring audit verify`` and inclusion proofs.

Fills a fresh embedded PostgreSQL (fsync off) with ``--events`` stored events (aggregates of
``--per-aggregate`` events, saved whole), then measures on one run:

* chaining the whole log into the Merkle tree from zero (what a service does once when it
  first runs with tamper evidence; afterwards it follows the log as it grows), and one checkpoint;
* ``verify_store`` (``ring audit verify``): every leaf recomputed from the log, every checkpoint
  root from the leaves;
* an inclusion proof of an event in the middle of the log, and its third-party check.

Prints a table and writes the ``## Tamper evidence`` section of ``bench/RESULTS.md``.

    .venv/bin/python bench/audit_integrity.py --events 200000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ring_runtime.embedded import EmbeddedPostgres, free_port
from ring_runtime.identity import new_identity_keys
from ring_runtime.integrity import (
    Checkpoint,
    CheckpointSigner,
    EventChainer,
    EventLeaves,
    verify_store,
)
from ring_runtime.merkle import leaf_hash, verify_inclusion
from ring_runtime.settings import load_settings
from ring_runtime.store import RingApplication, create_application

RESULTS = Path(__file__).with_name("RESULTS.md")


class Meter(Aggregate):
    """An aggregate recording readings."""

    @event("Installed")
    def __init__(self, site: str) -> None:
        self.site = site
        self.total = 0

    @event("Read")
    def read(self, value: int) -> None:
        self.total += value


class Meters(RingApplication):
    """Stores meters."""


def fill(app: Meters, events: int, per_aggregate: int) -> list[UUID]:
    """Store about ``events`` events; the ids of the aggregates."""
    ids = []
    while len(ids) * per_aggregate < events:
        meter = Meter(f"site-{len(ids)}")
        for value in range(per_aggregate - 1):
            meter.read(value)
        app.save(meter)
        ids.append(meter.id)
        if len(ids) % 100 == 0:
            print(f"  {len(ids) * per_aggregate:,} events", file=sys.stderr)
    return ids


async def chain(leaves: EventLeaves, signing: str, total: int) -> float:
    """Seconds until the whole log is chained and one checkpoint is published."""
    published: list[Checkpoint] = []

    async def publish(checkpoint: Checkpoint) -> None:
        published.append(checkpoint)

    # A checkpoint every round (every 2,000 events here): signing is cheap next to hashing.
    chainer = EventChainer(leaves, "bench", CheckpointSigner(signing), publish, 0.0)
    started = time.perf_counter()
    task = asyncio.create_task(chainer.run(0.05))
    while not (published and published[-1].size >= total):
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    chainer.stop()
    await task
    return elapsed


def measure(data_dir: Path, events: int, per_aggregate: int) -> list[tuple[str, str]]:
    """Every figure, on a fresh PostgreSQL cluster in ``data_dir``."""
    signing, verify = new_identity_keys()
    with EmbeddedPostgres(data_dir, free_port(), durable=False) as server:
        settings = load_settings(
            "task", {"RING_DATABASE_URL": server.url, "RING_DB_SCHEMA": "bench_audit"}
        )
        app = create_application(Meters, settings)
        try:
            started = time.perf_counter()
            ids = fill(app, events, per_aggregate)
            fill_seconds = time.perf_counter() - started
            stored = app.recorder.max_notification_id() or 0
        finally:
            app.close()
        leaves = EventLeaves(server.url, "bench_audit", "meters")
        chained = asyncio.run(chain(leaves, signing, stored))
        started = time.perf_counter()
        report = verify_store(leaves, "bench", verify)
        verified = time.perf_counter() - started
        assert report.findings == [], report.findings
        middle = ids[len(ids) // 2]
        started = time.perf_counter()
        with leaves.connect() as conn:
            proof = leaves.proof(conn, middle, per_aggregate // 2)
        proved = time.perf_counter() - started
        assert proof is not None
        assert "checkpoint" in proof
        started = time.perf_counter()
        data = "{aggregate_id}\n{version}\n{stored_topic}\n{state_sha256}".format(**proof)
        ok = verify_inclusion(
            leaf_hash(data.encode()),
            proof["leaf_index"],
            proof["checkpoint"]["size"],
            [bytes.fromhex(p) for p in proof["path"]],
            bytes.fromhex(proof["checkpoint"]["root"]),
        )
        checked = time.perf_counter() - started
        assert ok
    return [
        ("stored events", f"{stored:,} ({fill_seconds:.0f} s to record)"),
        (
            "chain the whole log from zero + sign",
            f"{chained:.1f} s ({stored / chained:,.0f} events/s)",
        ),
        (
            "`ring audit verify` (recompute every leaf and root)",
            f"{verified:.1f} s ({stored / verified:,.0f} events/s)",
        ),
        (
            "inclusion proof of one event (server)",
            f"{proved * 1000:.0f} ms ({len(proof['path'])} hashes)",
        ),
        ("inclusion proof check (third party)", f"{checked * 1e6:.0f} µs"),
    ]


def write_section(table: str, command: str) -> None:
    """Replace (or append) the ``## Tamper evidence`` section of RESULTS.md."""
    section = (
        f"## Tamper evidence\n\nMeasured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores "
        f"(load average {os.getloadavg()[0]:.1f}), Python {platform.python_version()}, embedded "
        f"PostgreSQL (fsync off), one process.\nCommand: `{command}`\n\n{table}\n"
    )
    text = RESULTS.read_text(encoding="utf-8")
    pattern = re.compile(r"## Tamper evidence\n.*?(?=\n## |\Z)", re.DOTALL)
    text = pattern.sub(section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


def main() -> None:
    """Parse arguments, measure, print, record."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--per-aggregate", type=int, default=500)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="ring-bench-audit-"))
    try:
        rows = measure(scratch / "postgres", args.events, args.per_aggregate)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    table = "\n".join(
        ["| measure | value |", "| --- | --- |", *(f"| {a} | {b} |" for a, b in rows)]
    )
    print(table)
    write_section(table, f".venv/bin/python bench/audit_integrity.py --events {args.events}")


if __name__ == "__main__":
    main()
