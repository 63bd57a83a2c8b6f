"""Outbox relay: publishes a service's notification log to its context topic.

The event store *is* the outbox. The relay reads published domain events in notification order,
translates each into its public integration event, publishes it keyed by aggregate id (or by the
translator's partition key, which keeps related aggregates in one partition) with the
Ring headers, and records its position only after the broker acknowledged the batch
(at-least-once). One relay per service is active across replicas (a PostgreSQL advisory lock);
the others wait as standbys.

Every message carries ``previous_notification_id``: the notification id of the previous event
*published* for the same aggregate. It is a pure function of the store and the translator, so a
republished message equals the message first published, and consumers can tell a gap from a
duplicate (see ``docs/decisions/0001-consumer-tracking.md``).

Broker data loss is detected by reading back, for every partition, the last record the relay
wrote: if the topic is gone, the offset no longer exists, or another record sits there, the relay
republishes the whole log from the first notification.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError, OffsetOutOfRangeError
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from ring_events.base import IntegrationEvent
from ring_events.envelope import Envelope, encode_envelope
from ring_events.headers import NOTIFICATION_ID
from ring_runtime.kafka import connection_config, ensure_topics, producer_config
from ring_runtime.relay_log import RelayLog, RelayMark, RelayPosition
from ring_runtime.settings import Settings
from ring_runtime.store import RingApplication

log = logging.getLogger("ring.relay")

#: Namespace of deterministic integration event ids (uuid5 of originator id and version).
EVENT_ID_NAMESPACE = UUID("5b0b7e0c-2f5e-4d7a-9a49-0e1f3c6d2a10")

Translation = Callable[[Any], IntegrationEvent]
Connection = psycopg.Connection[dict[str, Any]]


@dataclass(frozen=True)
class EventTranslator:
    """How a service's private domain events become its public integration events.

    Attributes:
        topic: the context topic the service publishes to.
        mapping: domain event class → function building the integration event. A class absent
            from the mapping is private and never published.
        partition_key: the Kafka key of an integration event when it must not be its aggregate
            id: aggregates whose events must be consumed in order share one (and so one
            partition). ``None`` keys every event by its aggregate id.
    """

    topic: str
    mapping: Mapping[type[Any], Translation]
    partition_key: Callable[[IntegrationEvent], str] | None = None

    @property
    def stored_topics(self) -> list[str]:
        """The eventsourcing topics (class paths) of every published domain event class."""
        return sorted(get_topic(cls) for cls in self.mapping)

    def translate(self, domain_event: Any) -> IntegrationEvent:
        """The integration event for ``domain_event``."""
        return self.mapping[type(domain_event)](domain_event)


def relay_log(settings: Settings, application_name: str, translator: EventTranslator) -> RelayLog:
    """The :class:`RelayLog` of a service whose application class is ``application_name``."""
    return RelayLog(settings, application_name.lower(), translator.topic, translator.stored_topics)


@dataclass
class RelayStats:
    """Counters an operator can read from ``GET /ready``."""

    published: int = 0
    republishes: int = 0
    position: int = 0
    is_leader: bool = False
    last_error: str | None = None


class OutboxRelay:
    """Publishes one service's notification log to Kafka, at least once, in order."""

    def __init__(
        self,
        app: RingApplication,
        translator: EventTranslator,
        settings: Settings,
        *,
        source: str,
    ) -> None:
        self.app = app
        self.translator = translator
        self.settings = settings
        self.source = source
        self.log = relay_log(settings, app.name, translator)
        self.stats = RelayStats()
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Relay until :meth:`stop`; waits as a standby while another replica holds the lock."""
        while not self._stopping.is_set():
            conn = await asyncio.to_thread(self.log.connect)
            try:
                await asyncio.to_thread(self.log.create_table, conn)
                if not await asyncio.to_thread(self.log.try_lock, conn):
                    await self._sleep(2.0)
                    continue
                self.stats.is_leader = True
                await self._lead(conn)
            except Exception as error:  # keep relaying after any failure
                self.stats.last_error = repr(error)
                log.exception("relay of %s failed; retrying in 1 s", self.translator.topic)
                await self._sleep(1.0)
            finally:
                self.stats.is_leader = False
                await asyncio.to_thread(conn.close)

    def stop(self) -> None:
        """Ask :meth:`run` to return after the batch in flight."""
        self._stopping.set()

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            return

    async def _lead(self, conn: Connection) -> None:
        await ensure_topics(self.settings, [self.translator.topic])
        producer = AIOKafkaProducer(**producer_config(self.settings))
        checker = AIOKafkaConsumer(
            **connection_config(self.settings),
            enable_auto_commit=False,
            auto_offset_reset="none",
        )
        await producer.start()
        await checker.start()
        try:
            position = await asyncio.to_thread(self.log.load, conn)
            self.stats.position = position.notification_id
            interval = self.settings.relay_loss_check_interval_ms / 1000
            next_check = time.monotonic()
            while not self._stopping.is_set():
                published = await self._publish_batch(conn, producer, position)
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + interval
                    if await self._must_republish(conn, checker, position):
                        position = await self._start_republish(conn)
                        continue
                if not published:
                    await self._sleep(self.settings.relay_poll_interval_ms / 1000)
        finally:
            await checker.stop()
            await producer.stop()

    async def _publish_batch(
        self, conn: Connection, producer: AIOKafkaProducer, position: RelayPosition
    ) -> int:
        rows = await asyncio.to_thread(self.log.read_batch, conn, position.notification_id)
        if not rows:
            return 0
        envelopes = [self._envelope(row) for row in rows]
        futures = []
        for envelope in envelopes:
            key, value, headers = encode_envelope(envelope)
            futures.append(
                await producer.send(self.translator.topic, value=value, key=key, headers=headers)
            )
        results = await asyncio.gather(*futures)
        for envelope, metadata in zip(envelopes, results, strict=True):
            position.marks[metadata.partition] = RelayMark(
                metadata.offset, envelope.notification_id
            )
        position.notification_id = envelopes[-1].notification_id
        await asyncio.to_thread(self.log.save, conn, position)
        self.stats.published += len(envelopes)
        self.stats.position = position.notification_id
        return len(envelopes)

    def _envelope(self, row: dict[str, Any]) -> Envelope:
        stored = StoredEvent(
            originator_id=row["originator_id"],
            originator_version=row["originator_version"],
            topic=row["topic"],
            state=bytes(row["state"]),
        )
        domain_event = self.app.mapper.to_domain_event(stored)
        originator = str(row["originator_id"])
        event_id = str(uuid5(EVENT_ID_NAMESPACE, f"{originator}:{row['originator_version']}"))
        event = self.translator.translate(domain_event)
        partition_key = self.translator.partition_key
        shared = partition_key(event) if partition_key is not None else None
        return Envelope(
            event=event,
            topic=self.translator.topic,
            key=originator,
            partition_key=shared if shared != originator else None,
            notification_id=int(row["notification_id"]),
            previous_notification_id=int(row["previous_notification_id"] or 0),
            event_id=event_id,
            occurred_at=event.occurred_at,
            correlation_id=row["correlation_id"] or event_id,
            causation_id=row["causation_id"] or event_id,
            traceparent=row["traceparent"],
            source=self.source,
        )

    async def _must_republish(
        self, conn: Connection, checker: AIOKafkaConsumer, position: RelayPosition
    ) -> bool:
        if await asyncio.to_thread(self.log.republish_requested, conn):
            log.warning("operator asked to republish %s", self.translator.topic)
            return True
        return bool(position.marks) and await self._broker_lost_data(checker, position)

    async def _broker_lost_data(self, checker: AIOKafkaConsumer, position: RelayPosition) -> bool:
        """True when a record this relay published is no longer where the broker put it."""
        topic = self.translator.topic
        try:
            topics = await checker.topics()
        except KafkaError as error:
            log.warning("cannot check %s for data loss: %s", topic, error)
            return False
        if topic not in topics:
            log.warning("topic %s is gone from the broker", topic)
            return True
        for partition, mark in sorted(position.marks.items()):
            tp = TopicPartition(topic, partition)
            checker.assign([tp])
            checker.seek(tp, mark.offset)
            try:
                batch = await checker.getmany(tp, timeout_ms=2000, max_records=1)
            except OffsetOutOfRangeError:
                log.warning("offset %s of %s[%s] is gone", mark.offset, topic, partition)
                return True
            except KafkaError as error:
                log.warning("cannot read back %s[%s]: %s", topic, partition, error)
                return False
            records = batch.get(tp, [])
            if not records:
                continue  # inconclusive (slow broker); checked again next interval
            record = records[0]
            found = dict(record.headers).get(NOTIFICATION_ID, b"").decode()
            if record.offset != mark.offset or found != str(mark.notification_id):
                log.warning(
                    "%s[%s]@%s holds notification %r instead of %s",
                    topic,
                    partition,
                    mark.offset,
                    found,
                    mark.notification_id,
                )
                return True
        return False

    async def _start_republish(self, conn: Connection) -> RelayPosition:
        log.warning(
            "republishing %s from the first notification (was at %s)",
            self.translator.topic,
            self.stats.position,
        )
        await ensure_topics(self.settings, [self.translator.topic])
        position = RelayPosition()
        await asyncio.to_thread(self.log.save, conn, position)
        self.stats.republishes += 1
        self.stats.position = 0
        return position
