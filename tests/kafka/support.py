"""A task-event feed and exactly-once consumer replicas, as the services run them, for the
Kafka lane's tests on a single node and on the three-node cluster."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from faststream.kafka import KafkaBroker

from ring_events.envelope import Envelope
from ring_events.task import TaskCreated, TaskPublishRequested
from ring_events.topics import TASK_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor, KafkaConsumerBinding
from ring_runtime.dead_letters import DeadLetterStore
from ring_runtime.kafka import broker_security
from ring_runtime.projection import ProjectionStore
from ring_runtime.relay import OutboxRelay
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.unit_of_work import UnitOfWork
from ring_task.application import Tasks
from ring_task.main import TRANSLATOR


class TaskFeed:
    """The task service's store and outbox relay: every task written is two events on
    ``ring.task.events``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tasks = create_application(Tasks, settings)
        self.relay = OutboxRelay(self.tasks, TRANSLATOR, settings, source="kafka-lane")
        self.ids: list[UUID] = []
        self._runner: asyncio.Task[None] | None = None

    async def __aenter__(self) -> TaskFeed:
        self._runner = asyncio.create_task(self.relay.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.relay.stop()
        if self._runner is not None:
            await asyncio.wait_for(self._runner, timeout=60)
        self.tasks.close()

    async def write(self, count: int, pause: float = 0.0) -> None:
        """Draft and publish ``count`` tasks (two events each)."""
        for n in range(count):
            owner = uuid4()
            task_id = await asyncio.to_thread(
                self.tasks.create_task,
                owner,
                title=f"kafka lane {n}",
                deadline=datetime.now(UTC) + timedelta(days=3),
                commission_minor=100,
                currency="CNY",
                slots=1,
            )
            await asyncio.to_thread(self.tasks.publish, task_id, owner)
            self.ids.append(task_id)
            if pause:
                await asyncio.sleep(pause)

    @property
    def events(self) -> int:
        """Events written so far."""
        return 2 * len(self.ids)


class Effects:
    """What the handlers did, shared by every replica: one entry per applied event."""

    def __init__(self) -> None:
        self.applied: list[tuple[str, str]] = []
        self.times: list[float] = []

    def handle(self, event: Any, envelope: Envelope, unit: UnitOfWork) -> None:
        self.applied.append((envelope.key, type(event).__name__))
        self.times.append(time.monotonic())

    def longest_gap(self, after: float) -> float:
        """The longest pause between two effects after ``after`` (monotonic seconds)."""
        times = [t for t in self.times if t >= after]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


class Replica:
    """One replica of a consuming service: its own broker connection, the shared group, store
    and tracking (``schema``), so replicas share the topic's partitions."""

    def __init__(self, settings: Settings, schema: str, effects: Effects) -> None:
        self.store = ProjectionStore(settings.database_url, schema, "lane")
        self.processor = ExactlyOnceProcessor(
            "kafka-lane",
            TASK_EVENTS,
            self.store,
            {TaskCreated: effects.handle, TaskPublishRequested: effects.handle},
        )
        self.dead_letters = DeadLetterStore(settings.database_url, schema)
        self.binding = KafkaConsumerBinding(self.processor, settings, self.dead_letters)
        self.broker = KafkaBroker(
            settings.kafka_servers, security=broker_security(settings), log_level=30
        )
        self.binding.subscribe(self.broker)

    async def start(self) -> Replica:
        await asyncio.to_thread(self.store.open)
        await asyncio.to_thread(self.dead_letters.create_table)
        await self.broker.start()
        return self

    async def stop(self) -> None:
        self.binding.stop()
        await self.broker.stop()
        await asyncio.to_thread(self.store.close)
