"""Start time and memory of the embedded Apache Kafka: one node and the three-node cluster.

For each size: the first start on an empty directory (format + start + ready, jars already
resolved), a clean stop, a restart on the data just written, and the resident memory of every
node right after it is ready. The same for Tansu, for comparison. Prints a Markdown table.

    .venv/bin/python bench/kafka_start.py            # make kafka-jars first
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ring_runtime.embedded import EmbeddedBroker, EmbeddedKafka, free_port
from ring_runtime.testing.sources import kafka_jars_home


def rss_mb(pid: int | None) -> float:
    """Resident set size of ``pid`` in MB (0 when it is gone)."""
    if pid is None:
        return 0.0
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    kilobytes = next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmRSS:")
    return kilobytes / 1024


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action()`` took."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def kafka_row(nodes: int, data: Path) -> list[str]:
    """First start, stop, restart and memory of a cluster of ``nodes``."""
    kafka = EmbeddedKafka(data, free_port(), nodes=nodes, jars_home=kafka_jars_home())
    first = timed(kafka.start)
    memory = [rss_mb(node.pid) for node in kafka.nodes]
    stop = timed(kafka.stop)
    again = timed(kafka.start)
    stop_again = timed(kafka.stop)
    name = "Apache Kafka 4.4, 1 node" if nodes == 1 else f"Apache Kafka 4.4, {nodes} nodes"
    return [
        name,
        f"{first:.1f} s",
        f"{again:.1f} s",
        f"{stop:.1f} / {stop_again:.1f} s",
        " / ".join(f"{m:.0f}" for m in memory) + " MB",
    ]


def tansu_row() -> list[str]:
    """The same for Tansu (in memory: a restart starts empty)."""
    broker = EmbeddedBroker(free_port())
    first = timed(broker.start)
    memory = rss_mb(broker.pid)
    stop = timed(broker.stop)
    again = timed(broker.start)
    stop_again = timed(broker.stop)
    return [
        "Tansu 0.6",
        f"{first:.2f} s",
        f"{again:.2f} s",
        f"{stop:.1f} / {stop_again:.1f} s",
        f"{memory:.0f} MB",
    ]


def main() -> None:
    """Measure and print the table with the load average before and after."""
    before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="ring-kafka-start-") as tmp:
        rows = [tansu_row(), kafka_row(1, Path(tmp) / "one"), kafka_row(3, Path(tmp) / "three")]
    after = os.getloadavg()[0]
    print(f"load average {before:.1f} before, {after:.1f} after; {os.cpu_count()} cores\n")
    print(
        "| broker | first start (format + start + ready) | restart on its data | stop, twice | RSS per node after start |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
