"""Backbone benchmark: outbox relay events/s, exactly-once consumer events/s, and the lag from
commit to consumer-visible across processes, on embedded PostgreSQL and Tansu and/or Apache
Kafka (one KRaft node, idempotent producer on), side by side.

Run: ``.venv/bin/python bench/relay_consumer.py [--tasks 2000] [--brokers tansu,kafka]``.
Writes the ``## Backbone on both brokers`` section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka import KafkaBroker

from ring_events.task import TaskCreated, TaskPublishRequested
from ring_events.topics import TASK_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor, KafkaConsumerBinding
from ring_runtime.dead_letters import DeadLetterStore
from ring_runtime.embedded import EmbeddedBroker, EmbeddedKafka, EmbeddedPostgres, free_port
from ring_runtime.identity import PARTY_A
from ring_runtime.projection import ProjectionStore
from ring_runtime.relay import OutboxRelay
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.testing import (
    KAFKA_LANE_SETTINGS,
    TEST_KAFKA_TIMINGS,
    actor_headers,
    settings_for,
)
from ring_task.application import Tasks
from ring_task.main import TRANSLATOR

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## Backbone on both brokers"


def say(message: str) -> None:
    """Progress on stderr, so a long run shows where it is."""
    print(message, file=sys.stderr, flush=True)


def preload(settings: Settings, tasks_count: int) -> int:
    """Write ``tasks_count`` tasks (created + publish requested) into the store; return events."""
    tasks = create_application(Tasks, settings)
    deadline = datetime.now(UTC) + timedelta(days=3)
    try:
        for n in range(tasks_count):
            owner = uuid4()
            task_id = tasks.create_task(
                owner,
                title=f"t{n}",
                deadline=deadline,
                commission_minor=100,
                currency="CNY",
                slots=1,
            )
            tasks.publish(task_id, owner)
            if n % 500 == 499:
                say(f"  preloaded {n + 1}/{tasks_count} tasks")
    finally:
        tasks.close()
    return tasks_count * 2


async def relay_throughput(settings: Settings, events: int) -> float:
    """Events/s the relay publishes from a full store."""
    tasks = create_application(Tasks, settings)
    relay = OutboxRelay(tasks, TRANSLATOR, settings, source="bench")
    started = time.perf_counter()
    runner = asyncio.create_task(relay.run())
    while relay.stats.published < events:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    relay.stop()
    await runner
    tasks.close()
    return events / elapsed


class _Counter:
    def __init__(self) -> None:
        self.applied = 0
        self.lags: list[float] = []

    def handle(self, event: Any, _: Any, unit: Any) -> None:
        self.applied += 1
        if isinstance(event, TaskCreated):
            self.lags.append((datetime.now(UTC) - event.occurred_at).total_seconds())


async def consume(settings: Settings, schema: str, until: int, counter: _Counter) -> float:
    """Events/s an exactly-once consumer (projection store, own schema) applies from the topic."""
    consumer_settings = settings_for(
        "bench-consumer",
        settings.database_url,
        settings.kafka_bootstrap,
        schema,
        RING_KAFKA_FETCH_MAX_WAIT_MS=str(settings.kafka_fetch_max_wait_ms),
        RING_KAFKA_ENABLE_IDEMPOTENCE=str(settings.kafka_enable_idempotence).lower(),
    )
    store = ProjectionStore(settings.database_url, schema, "bench")
    store.open()
    processor = ExactlyOnceProcessor(
        f"bench-{schema}",
        TASK_EVENTS,
        store,
        {TaskCreated: counter.handle, TaskPublishRequested: counter.handle},
    )
    dead = DeadLetterStore(settings.database_url, schema)
    dead.create_table()
    broker = KafkaBroker(settings.kafka_bootstrap, log_level=10)
    KafkaConsumerBinding(processor, consumer_settings, dead).subscribe(broker)
    await broker.start()
    started: float | None = None
    try:
        while processor.stats.applied < until:
            if started is None and processor.stats.applied:
                started = time.perf_counter()
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - (started or time.perf_counter())
    finally:  # also when the lag measurement cancels it: no consumer outlives its broker
        await broker.stop()
        store.close()
    return (until - 1) / elapsed if elapsed else float("nan")


def serve_task(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    """The task service as its own OS process."""
    env = {
        **os.environ,
        "RING_DATABASE_URL": settings.database_url,
        "RING_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "RING_KAFKA_ENABLE_IDEMPOTENCE": str(settings.kafka_enable_idempotence).lower(),
        "RING_KAFKA_FETCH_MAX_WAIT_MS": str(settings.kafka_fetch_max_wait_ms),
        "RING_DB_SCHEMA": settings.db_schema,
        "RING_HTTP_PORT": str(port),
        "RING_LOG_LEVEL": "WARNING",
        **TEST_KAFKA_TIMINGS,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ring_runtime.commands.serve", "task"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def post_task(port: int, owner: str) -> None:
    """Draft one task over HTTP."""
    body = (
        b'{"title":"lag probe","deadline":"%s","commission_minor":100,"currency":"CNY","slots":1}'
        % (datetime.now(UTC) + timedelta(days=2)).isoformat().encode()
    )
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/tasks",
        data=body,
        headers={
            "Content-Type": "application/json",
            **actor_headers(UUID(owner), PARTY_A, os.environ.get("RING_DATA_DIR", ".ring")),
        },
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 201


async def lag(settings: Settings, seconds: float, rate: float) -> list[float]:
    """Commit → visible-in-another-process lag of events written at ``rate`` per second."""
    port = free_port()
    service = serve_task(settings, port)
    counter = _Counter()
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                await asyncio.sleep(0.2)
        sent = 0
        consumer = asyncio.create_task(consume(settings, "bench_lag", until=10**9, counter=counter))
        await asyncio.sleep(3)  # group join of the consumer
        owner = str(uuid4())
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            await asyncio.to_thread(post_task, port, owner)
            sent += 1
            await asyncio.sleep(max(0.0, sent / rate - (time.perf_counter() - started)))
        deadline = time.perf_counter() + 30
        while len(counter.lags) < sent and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer  # its broker stops before this broker does
        return counter.lags
    finally:
        service.terminate()
        service.wait(timeout=30)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def empty_topics(bootstrap: str) -> None:
    """Delete every topic, so the lag consumer does not start with a backlog."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if not t.startswith("__")]
        if topics:
            await admin.delete_topics(topics)
        while set(topics) & set(await admin.list_topics()):
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def measure(
    name: str, postgres: EmbeddedPostgres, tmp: Path, args: argparse.Namespace
) -> dict[str, str]:
    """The measurements on one broker (``tansu`` or ``kafka``), formatted for the table."""
    overrides: dict[str, str]
    broker: EmbeddedBroker | EmbeddedKafka
    if name == "kafka":
        broker = EmbeddedKafka(tmp / "kafka", free_port())
        # Kafka answers a waiting fetch as soon as records arrive (fetch.min.bytes 1), so a long
        # wait costs no latency there, only fewer idle fetches; Tansu answers at the bound.
        overrides = {**KAFKA_LANE_SETTINGS, "RING_KAFKA_FETCH_MAX_WAIT_MS": str(args.kafka_fetch)}
    else:
        broker = EmbeddedBroker(free_port())
        overrides = {"RING_KAFKA_FETCH_MAX_WAIT_MS": str(args.tansu_fetch)}
    started = time.perf_counter()
    broker.start()
    start_s = time.perf_counter() - started
    try:
        settings = settings_for(
            "task", postgres.url, broker.bootstrap, f"bench_task_{name}", **overrides
        )
        say(f"[{name}] preloading {args.tasks} tasks…")
        events = preload(settings, args.tasks)
        say(f"[{name}] measuring relay throughput…")
        relay_rate = await relay_throughput(settings, events)
        say(f"  relay: {relay_rate:,.0f} events/s")
        say(f"[{name}] measuring consumer throughput…")
        consumer_rate = await consume(settings, f"bench_consumer_{name}", events, _Counter())
        say(f"  consumer: {consumer_rate:,.0f} events/s")
        say(f"[{name}] measuring lag for {args.lag_seconds:.0f} s at {args.lag_rate:.0f}/s…")
        await empty_topics(broker.bootstrap)
        lags = await lag(
            settings_for(
                "task", postgres.url, broker.bootstrap, f"bench_lag_task_{name}", **overrides
            ),
            args.lag_seconds,
            args.lag_rate,
        )
    finally:
        broker.stop()
    p50, p99 = percentile(lags, 0.5) * 1000, percentile(lags, 0.99) * 1000
    return {
        "broker start": f"{start_s:.1f} s",
        "outbox relay, store → broker (batch 500)": f"{relay_rate:,.0f} events/s",
        "exactly-once consumer, broker → projection (1 member)": f"{consumer_rate:,.0f} events/s",
        "commit → visible in another process, p50": f"{p50:.0f} ms",
        "commit → visible in another process, p99": f"{p99:.0f} ms",
        "lag samples": f"{len(lags)} at {args.lag_rate:g} commands/s",
        "consumer fetch wait (RING_KAFKA_FETCH_MAX_WAIT_MS)": overrides[
            "RING_KAFKA_FETCH_MAX_WAIT_MS"
        ]
        + " ms",
    }


async def main() -> None:
    """Run the measurements on each broker and write the results side by side."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=2000, help="tasks to preload (2 events each)")
    parser.add_argument("--lag-seconds", type=float, default=10.0)
    parser.add_argument("--lag-rate", type=float, default=20.0, help="commands per second")
    parser.add_argument("--brokers", default="tansu,kafka", help="tansu, kafka or both")
    parser.add_argument("--tansu-fetch", type=int, default=100, help="fetch wait on Tansu, ms")
    parser.add_argument("--kafka-fetch", type=int, default=500, help="fetch wait on Kafka, ms")
    args = parser.parse_args()
    brokers = [b.strip() for b in args.brokers.split(",") if b.strip()]
    results: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        postgres = EmbeddedPostgres(Path(tmp) / "pg", free_port(), durable=True).start()
        try:
            for name in brokers:
                results[name] = await measure(name, postgres, Path(tmp), args)
        finally:
            postgres.stop()
    titles = {"tansu": "Tansu 0.6 (memory)", "kafka": "Apache Kafka 4.4 (1 KRaft node)"}
    rows = list(next(iter(results.values())))
    load = os.getloadavg()[0]
    table = "\n".join(
        [
            SECTION,
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} cores (load average "
            f"{load:.1f} at the end), Python {platform.python_version()}, embedded PostgreSQL "
            "(fsync on), one machine. On Apache Kafka the producer is idempotent, `acks=all`.",
            "Command: `.venv/bin/python bench/relay_consumer.py "
            f"--tasks {args.tasks} --lag-seconds {args.lag_seconds:g} --lag-rate "
            f"{args.lag_rate:g} --brokers {','.join(brokers)} --tansu-fetch {args.tansu_fetch} "
            f"--kafka-fetch {args.kafka_fetch}`",
            "",
            "| measure | " + " | ".join(titles[b] for b in results) + " |",
            "| --- |" + " --- |" * len(results),
            *(f"| {row} | " + " | ".join(r[row] for r in results.values()) + " |" for row in rows),
            "",
        ]
    )
    write_section(table)
    print(table)


def write_section(section: str) -> None:
    """Replace (or add) the :data:`SECTION` of RESULTS.md."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    start = text.find(SECTION)
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


if __name__ == "__main__":
    asyncio.run(main())
