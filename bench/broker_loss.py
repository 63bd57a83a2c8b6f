"""Flow after a total broker loss with a long history (issue 17: resumed ≤ 10 s at 100k events).

Embedded PostgreSQL (fsync off) and Tansu, in one process: the task service's outbox relay and
``--consumers`` exactly-once consumers of ``ring.task.events`` (each with its own tracking
schema and consumer group, like the services' read models). The store holds ``--events``
published task events: 500 written by the application, the rest clones of them under new
aggregate ids (same event classes and payloads, so the relay decodes and translates each one).
Every consumer starts having applied them all (its tracking rows are written up front) and the
relay puts them all on the broker once; then Tansu is restarted (it loses everything), a new
task is drafted and published at once, and the run measures from the restart:

* ``loss seen``: until the relay noticed the loss (its marker gone) and began republishing;
* ``flow resumed``: until every consumer applied both events of the new task;
* ``history republished``: until the relay is back at the head of the log;
* ``history read``: until every consumer has read the republished history (as duplicates).

The relay republishes the whole log in order before anything new, so ``flow resumed`` grows
with the history (issue 17, problem 5; see decision 0010 for the backfill that was tried).

    .venv/bin/python bench/broker_loss.py --events 100000 --consumers 3
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
from faststream.kafka import KafkaBroker
from psycopg.sql import SQL, Identifier

from ring_events.task import TaskCreated, TaskPublishRequested
from ring_events.topics import TASK_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor, KafkaConsumerBinding
from ring_runtime.dead_letters import DeadLetterStore
from ring_runtime.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from ring_runtime.projection import ProjectionStore
from ring_runtime.relay import OutboxRelay
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.testing import settings_for
from ring_task.application import Tasks
from ring_task.main import TRANSLATOR

SCHEMA = "bench_loss"
SEED_TASKS = 250  # two events each


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def draft(tasks: Tasks, count: int) -> list[Any]:
    """Draft and publish ``count`` tasks; their ids."""
    deadline = datetime.now(UTC) + timedelta(days=3)
    ids = []
    for n in range(count):
        owner = uuid4()
        task_id = tasks.create_task(
            owner, title=f"t{n}", deadline=deadline, commission_minor=100, currency="CNY", slots=1
        )
        tasks.publish(task_id, owner)
        ids.append(task_id)
    return ids


def clone(settings: Settings, events: int) -> int:
    """Copy the first stored events under new aggregate ids until ``events`` are stored."""
    table = SQL("{}.{}").format(Identifier(settings.db_schema), Identifier("tasks_events"))
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        base = conn.execute(SQL("SELECT max(notification_id) FROM {}").format(table)).fetchone()
        assert base is not None
        while True:
            row = conn.execute(SQL("SELECT count(*) FROM {}").format(table)).fetchone()
            assert row is not None
            if row[0] >= events:
                return int(row[0])
            conn.execute(
                SQL(
                    "INSERT INTO {t} (originator_id, originator_version, topic, state) "
                    "SELECT m.new_id, e.originator_version, e.topic, e.state FROM {t} e JOIN "
                    "(SELECT originator_id, gen_random_uuid() AS new_id FROM {t} "
                    " WHERE notification_id <= %(base)s GROUP BY originator_id) m "
                    "USING (originator_id) WHERE e.notification_id <= %(base)s "
                    "ORDER BY e.notification_id"
                ).format(t=table),
                {"base": base[0]},
            )


def mark_applied(settings: Settings, store: ProjectionStore, name: str) -> None:
    """Record that consumer ``name`` applied every stored event (per aggregate, decision 0001)."""
    events = SQL("{}.{}").format(Identifier(settings.db_schema), Identifier("tasks_events"))
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            SQL(
                "INSERT INTO {} (application_name, notification_id) "
                "SELECT %s || originator_id::text, max(notification_id) FROM {} "
                "GROUP BY originator_id"
            ).format(store.table(f"{store.name}_tracking"), events),
            (f"{name}|{TASK_EVENTS}|",),
        )


@dataclasses.dataclass
class Reader:
    processor: ExactlyOnceProcessor
    store: ProjectionStore
    probe: set[str] = dataclasses.field(default_factory=set)

    def handle(self, event: Any, envelope: Any, unit: Any) -> None:
        self.probe.add(envelope.key)


async def until(condition: Callable[[], bool], within: float, every: float = 0.02) -> float:
    began = time.perf_counter()
    while not condition():
        if time.perf_counter() - began > within:
            raise TimeoutError(f"not reached within {within} s")
        await asyncio.sleep(every)
    return time.perf_counter() - began


async def run(events: int, consumers: int, batch: int) -> dict[str, float]:
    data = Path(tempfile.mkdtemp(prefix="ring-broker-loss-"))
    postgres = EmbeddedPostgres(data / "postgres", free_port(), durable=False)
    tansu = EmbeddedBroker(free_port(), log_path=data / "tansu.log")
    postgres.start()
    tansu.start()
    settings = settings_for(
        "task",
        postgres.url,
        tansu.bootstrap,
        SCHEMA,
        RING_RELAY_BATCH_SIZE=str(batch),
        RING_RELAY_POLL_INTERVAL_MS="20",
        RING_RELAY_LOSS_CHECK_INTERVAL_MS="500",
    )
    tasks = create_application(Tasks, settings)
    broker = KafkaBroker(settings.kafka_bootstrap, log_level=10)
    readers: list[Reader] = []
    relay_task: asyncio.Task[None] | None = None
    figures: dict[str, float] = {}
    try:
        say(f"writing {SEED_TASKS * 2} events, cloning them to {events}")
        await asyncio.to_thread(draft, tasks, SEED_TASKS)
        stored = await asyncio.to_thread(clone, settings, events)
        figures["stored events"] = stored
        for n in range(consumers):
            schema = f"{SCHEMA}_c{n}"
            store = ProjectionStore(settings.database_url, schema, "reader")
            store.open()
            reader = Reader(ExactlyOnceProcessor(f"reader-{n}", TASK_EVENTS, store, {}), store)
            reader.processor.handlers = {
                TaskCreated: reader.handle,
                TaskPublishRequested: reader.handle,
            }
            await asyncio.to_thread(mark_applied, settings, store, reader.processor.name)
            dead = DeadLetterStore(settings.database_url, schema)
            dead.create_table()
            KafkaConsumerBinding(reader.processor, settings, dead).subscribe(broker)
            readers.append(reader)
        relay = OutboxRelay(tasks, TRANSLATOR, settings, source="bench")
        # The relay has published everything once before the loss (and holds a marker).
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            relay.log.create_table(conn)
        relay_task = asyncio.create_task(relay.run())
        say("first publication of the log")
        await until(lambda: relay.stats.position >= stored, 3600)
        await broker.start()
        say("consumers reading the log once")
        await until(
            lambda: all(r.processor.stats.duplicates >= stored for r in readers), 3600, every=0.2
        )
        republishes = relay.stats.republishes
        say("restarting the broker: it loses every record")
        await asyncio.to_thread(tansu.restart)
        lost_at = time.perf_counter()
        probe = await asyncio.to_thread(draft, tasks, 1)
        key = str(probe[0])
        seen = asyncio.create_task(
            until(lambda: relay.stats.republishes > republishes, 600, every=0.01)
        )
        flow = asyncio.create_task(until(lambda: all(key in r.probe for r in readers), 600))
        await seen
        figures["loss seen s"] = time.perf_counter() - lost_at
        await flow
        figures["flow resumed s"] = time.perf_counter() - lost_at
        say(f"flow resumed after {figures['flow resumed s']:.1f} s")
        await until(lambda: relay.stats.position > stored, 3600)
        figures["history republished s"] = time.perf_counter() - lost_at
        await until(
            lambda: all(r.processor.stats.duplicates >= 2 * stored for r in readers),
            3600,
            every=0.2,
        )
        figures["history read s"] = time.perf_counter() - lost_at
    finally:
        if relay_task is not None:
            relay.stop()
            await relay_task
        await broker.stop()
        for reader in readers:
            reader.store.close()
        tasks.close()
        tansu.stop()
        postgres.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--consumers", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500, help="RING_RELAY_BATCH_SIZE")
    args = parser.parse_args()
    figures = asyncio.run(run(args.events, args.consumers, args.batch))
    print(f"\n{args.consumers} consumers, load average {os.getloadavg()[0]:.1f}")
    for name, value in figures.items():
        print(f"  {name:<24} {value:,.1f}")


if __name__ == "__main__":
    main()
