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

Broker data loss is detected with a *loss marker*: a record with a random token that the relay
writes to :data:`MARKER_TOPIC` when it first leads and after every republish, and whose
partition and offset it keeps with its position. The relay checks that the marker is still there
when it starts leading (before its first publish on the new connection) and every
``RING_RELAY_LOSS_CHECK_INTERVAL_MS``. Publishing data never touches the marker topic, so no
publish can hide a loss (the read-back of data offsets could: a batch published on an empty
broker overwrote the very offsets it read back). Marker gone (topic missing, offset past the
end, another token there) → the broker lost data → republish from the first notification.
A check that cannot decide (broker unreachable or too slow) fails the round: nothing is
published until a check succeeds.

The relay outlives any outage of PostgreSQL or the broker: every failure ends the leadership
round, and the relay retries with backoff, reporting its :class:`TaskHealth` to ``GET /ready``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4, uuid5

import msgspec
import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import MessageSizeTooLargeError, OffsetOutOfRangeError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from opentelemetry import propagate, trace

from ring_events.base import IntegrationEvent
from ring_events.envelope import Envelope, encode_envelope
from ring_runtime.kafka import connection_config, ensure_topics, producer_config
from ring_runtime.metrics import EVENTS_PUBLISHED
from ring_runtime.relay_log import LossMarker, RelayLog, RelayPosition
from ring_runtime.resilience import OUTAGE_RETRY_CAP, Backoff, TaskHealth
from ring_runtime.settings import Settings
from ring_runtime.store import RingApplication
from ring_runtime.wakeup import CommitSignal

log = logging.getLogger("ring.relay")
_tracer = trace.get_tracer("ring.relay")

#: Namespace of deterministic integration event ids (uuid5 of originator id and version).
EVENT_ID_NAMESPACE = UUID("5b0b7e0c-2f5e-4d7a-9a49-0e1f3c6d2a10")
#: Topic holding every relay's loss markers (keyed by relay); consumed by no service.
MARKER_TOPIC = "ring.relay.markers"
#: How long a marker read-back may take before the check counts as undecided.
MARKER_READ_TIMEOUT_MS = 3000
#: A republish reads and sends the history in batches this many times ``RING_RELAY_BATCH_SIZE``:
#: each batch costs a store read, a marker check, a wait for every acknowledgement and a position
#: save, which at 500 events a batch were a fifth of a republish's time.
REPUBLISH_BATCH_FACTOR = 10

#: How ``AIOKafkaProducer.send`` picks the partition of a keyed record.
_PARTITIONER = DefaultPartitioner()

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


def published_envelope(
    app: RingApplication, translator: EventTranslator, row: dict[str, Any], source: str
) -> Envelope:
    """The message the relay publishes for a stored event ``row`` (as :meth:`RelayLog.read_batch`
    returns it): a pure function of the store and the translator, so whoever reads the store
    through it — the relay, a republish, a rebuild — gets the very same envelope."""
    stored = StoredEvent(
        originator_id=row["originator_id"],
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=bytes(row["state"]),
    )
    domain_event = app.mapper.to_domain_event(stored)
    originator = str(row["originator_id"])
    event_id = str(uuid5(EVENT_ID_NAMESPACE, f"{originator}:{row['originator_version']}"))
    event = translator.translate(domain_event)
    partition_key = translator.partition_key
    shared = partition_key(event) if partition_key is not None else None
    return Envelope(
        event=event,
        topic=translator.topic,
        key=originator,
        partition_key=shared if shared != originator else None,
        notification_id=int(row["notification_id"]),
        previous_notification_id=int(row["previous_notification_id"] or 0),
        event_id=event_id,
        occurred_at=event.occurred_at,
        correlation_id=row["correlation_id"] or event_id,
        causation_id=row["causation_id"] or event_id,
        traceparent=row["traceparent"],
        source=source,
    )


class PublishedEvents:
    """A service's context topic as its store holds it: every published event, in notification
    order, as the envelope the relay sends. Lets an operator command (a read-model rebuild)
    replay a topic without the broker, which may no longer hold all of it."""

    def __init__(
        self, application: RingApplication, translator: EventTranslator, settings: Settings
    ) -> None:
        self.application = application
        self.translator = translator
        self.source = settings.service
        self.log = relay_log(settings, application.name, translator)

    def count(self) -> int:
        """How many events the topic has been given (or will be) from this store."""
        return self.log.published_count()

    def batches(self, aggregates: Collection[str] | None = None) -> Iterator[list[Envelope]]:
        """Every published event (only those of ``aggregates`` when given), oldest first."""
        after = 0
        with self.log.connect() as conn:
            while rows := self.log.read_batch(conn, after, aggregates):
                yield [
                    published_envelope(self.application, self.translator, row, self.source)
                    for row in rows
                ]
                after = int(rows[-1]["notification_id"])

    def close(self) -> None:
        """Release the application's connections."""
        self.application.close()


@dataclass
class RelayStats:
    """Counters an operator can read from ``GET /ready``."""

    published: int = 0
    republishes: int = 0
    position: int = 0
    is_leader: bool = False
    loss_checks: int = 0
    health: TaskHealth = field(default_factory=TaskHealth)


class UndecidedLossCheck(Exception):
    """The marker could be neither read back nor proven gone; nothing may be published yet."""


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
        self._commits = CommitSignal(
            settings.database_url, settings.db_schema, f"{app.name.lower()}_events"
        )

    async def run(self) -> None:
        """Relay until :meth:`stop`; waits as a standby while another replica holds the lock.

        Any failure (PostgreSQL or broker unreachable, a check that cannot decide) ends the
        round; the next one starts after a growing delay, on a new connection and producer.
        """
        backoff = Backoff(initial=0.5, maximum=OUTAGE_RETRY_CAP)
        while not self._stopping.is_set():
            try:
                await self._round()
            except Exception as error:  # an outage of either dependency: wait it out
                self.stats.health.failed(error)
                delay = backoff.next()
                log.warning(
                    "relay of %s failed (%s: %s); retrying in %.1f s",
                    self.translator.topic,
                    type(error).__name__,
                    error,
                    delay,
                )
                await self._sleep(delay)
            else:
                backoff.reset()

    async def _round(self) -> None:
        """One attempt: connect, take the lock and relay while leading, or wait as standby."""
        conn = await asyncio.to_thread(self.log.connect)
        try:
            await asyncio.to_thread(self.log.create_table, conn)
            if not await asyncio.to_thread(self.log.try_lock, conn):
                self.stats.health.recovered()
                await self._sleep(2.0)
                return
            self.stats.is_leader = True
            await self._lead(conn)
        finally:
            self.stats.is_leader = False
            with contextlib.suppress(Exception):  # a broken connection may fail to close
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
        await ensure_topics(self.settings, [self.translator.topic, MARKER_TOPIC])
        producer = AIOKafkaProducer(**producer_config(self.settings))
        checker = AIOKafkaConsumer(
            **connection_config(self.settings),
            enable_auto_commit=False,
            auto_offset_reset="none",
        )
        try:
            await producer.start()
            await checker.start()
            await asyncio.to_thread(self._commits.install, conn)
            position = await asyncio.to_thread(self.log.load, conn)
            self.stats.position = position.notification_id
            interval = self.settings.relay_loss_check_interval_ms / 1000
            next_check = time.monotonic()
            # Up to here the log is history being republished (read in bigger batches).
            history_end = 0
            while not self._stopping.is_set():
                limit = self.log.batch_size
                if position.notification_id < history_end:
                    limit *= REPUBLISH_BATCH_FACTOR
                rows = await asyncio.to_thread(
                    self.log.read_batch, conn, position.notification_id, limit=limit
                )
                # Checked before every publish (so nothing goes onto a broker that lost data
                # unnoticed) and every interval while idle (so a loss is republished at once).
                if rows or time.monotonic() >= next_check:
                    if await self._must_republish(conn, checker, position):
                        history_end = position.notification_id
                        position = await self._start_republish(conn, producer, position)
                        continue
                    next_check = time.monotonic() + interval
                if rows:
                    await self._publish_batch(conn, producer, position, rows)
                    if len(rows) >= limit:
                        continue  # a full batch: more may be waiting
                requested = await asyncio.to_thread(self.log.requested_batch, conn)
                if requested:
                    await self._publish_requested(conn, producer, requested)
                    continue
                self.stats.health.recovered()
                # Also after a partial batch: it held every event committed before it was read,
                # and a commit since then has a notification waiting, so this returns at once
                # (not reading the store again just to find nothing).
                await self._commits.wait(self.settings.relay_poll_interval_ms / 1000)
        finally:
            with contextlib.suppress(Exception):
                await self._commits.close()
            with contextlib.suppress(Exception):
                await checker.stop()
            with contextlib.suppress(Exception):
                await producer.stop()

    async def _publish_batch(
        self,
        conn: Connection,
        producer: AIOKafkaProducer,
        position: RelayPosition,
        rows: list[dict[str, Any]],
    ) -> None:
        """Send ``rows`` in one record batch per partition (each partition's records in
        notification order, so each aggregate's), then record the position once the broker
        acknowledged them all.

        Batches built here instead of one ``producer.send`` per record: that call cost about
        50 µs a record, a third of the relay's time when it republishes a long history. The
        partition is the one ``send`` would choose (aiokafka's default partitioner on the key
        over all of the topic's partitions), so a record sent either way lands beside the
        other records of its aggregate.
        """
        topic = self.translator.topic
        envelopes = [self._envelope(row) for row in rows]
        partitions = list(await producer.partitions_for(topic))
        batches: dict[int, BatchBuilder] = {}
        futures = []
        spans = []
        try:
            for envelope in envelopes:
                span = self._producer_span(envelope)
                spans.append(span)
                key, value, headers = encode_envelope(
                    msgspec.structs.replace(envelope, traceparent=_traceparent(span))
                )
                partition = _PARTITIONER(key, partitions, partitions)
                record = {"key": key, "value": value, "timestamp": None, "headers": headers}
                batch = batches.get(partition)
                if batch is not None and batch.append(**record) is not None:
                    continue
                if batch is not None:  # full: send it, the record opens the next one
                    futures.append(await producer.send_batch(batch, topic, partition=partition))
                batch = batches[partition] = producer.create_batch()
                if batch.append(**record) is None:
                    raise MessageSizeTooLargeError(
                        f"{envelope.notification_id} does not fit in a batch of its own"
                    )
            for partition, batch in batches.items():
                futures.append(await producer.send_batch(batch, topic, partition=partition))
            await asyncio.gather(*futures)
        finally:
            for span in spans:
                span.end()
        position.notification_id = envelopes[-1].notification_id
        await asyncio.to_thread(self.log.save, conn, position)
        self.stats.published += len(envelopes)
        EVENTS_PUBLISHED.add(len(envelopes), {"topic": self.translator.topic})
        self.stats.position = position.notification_id

    async def _publish_requested(
        self, conn: Connection, producer: AIOKafkaProducer, rows: list[dict[str, Any]]
    ) -> None:
        """Publish again the events an operator asked for (``ring relay republish``): the
        ones the broker was found missing. The position does not move."""
        futures = []
        for row in rows:
            key, value, headers = encode_envelope(self._envelope(row))
            futures.append(
                await producer.send(self.translator.topic, value=value, key=key, headers=headers)
            )
        await asyncio.gather(*futures)
        await asyncio.to_thread(self.log.forget_requested, conn, int(rows[-1]["notification_id"]))
        self.stats.published += len(rows)

    def _producer_span(self, envelope: Envelope) -> trace.Span:
        """The producer span of one message (messaging semantic conventions): a child of the
        span that saved its event, and the parent of every consumer's processing of it."""
        saved = propagate.extract({"traceparent": envelope.traceparent or ""})
        return _tracer.start_span(
            f"{self.translator.topic} publish",
            context=saved,
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.operation.name": "publish",
                "messaging.destination.name": self.translator.topic,
                "messaging.message.id": envelope.event_id,
                "messaging.kafka.message.key": envelope.partition_key or envelope.key,
                "ring.notification_id": envelope.notification_id,
            },
        )

    def _envelope(self, row: dict[str, Any]) -> Envelope:
        return published_envelope(self.app, self.translator, row, self.source)

    async def _must_republish(
        self, conn: Connection, checker: AIOKafkaConsumer, position: RelayPosition
    ) -> bool:
        self.stats.loss_checks += 1
        if position.marker is None:
            # Never marked: a first start (republishing nothing just writes the marker), or a
            # position kept by an older relay, where loss cannot be ruled out.
            return True
        if await self._marker_present(checker, position.marker):
            return False
        log.warning(
            "the broker lost %s's loss marker %s: it lost data",
            self.translator.topic,
            position.marker,
        )
        return True

    async def _marker_present(self, checker: AIOKafkaConsumer, marker: LossMarker) -> bool:
        """Whether ``marker`` is still where the broker put it.

        Raises:
            UndecidedLossCheck: the record did not come back in time though the log reaches
                past its offset (a slow broker); the caller must not publish.
        """
        if MARKER_TOPIC not in await checker.topics():
            return False
        tp = TopicPartition(MARKER_TOPIC, marker.partition)
        checker.assign([tp])
        checker.seek(tp, marker.offset)
        try:
            batch = await checker.getmany(tp, timeout_ms=MARKER_READ_TIMEOUT_MS, max_records=1)
        except OffsetOutOfRangeError:
            return False
        records = batch.get(tp, [])
        if records:
            record = records[0]
            return bool(record.offset == marker.offset and record.value == marker.token.encode())
        # Nothing at the offset: either the log now ends before it (lost; an empty broker
        # answers a fetch past the end with nothing) or the broker was too slow to answer.
        end = (await checker.end_offsets([tp]))[tp]
        if end <= marker.offset:
            return False
        raise UndecidedLossCheck(
            f"marker {marker} not read back within {MARKER_READ_TIMEOUT_MS} ms"
        )

    async def _start_republish(
        self, conn: Connection, producer: AIOKafkaProducer, previous: RelayPosition
    ) -> RelayPosition:
        """Write a new loss marker and go back to the first notification."""
        if previous.notification_id > 0:
            log.warning(
                "republishing %s from the first notification (was at %s)",
                self.translator.topic,
                previous.notification_id,
            )
            self.stats.republishes += 1
        await ensure_topics(self.settings, [self.translator.topic, MARKER_TOPIC])
        token = str(uuid4())
        metadata = await producer.send_and_wait(
            MARKER_TOPIC, value=token.encode(), key=self.log.lock_key.encode()
        )
        position = RelayPosition(
            marker=LossMarker(partition=metadata.partition, offset=metadata.offset, token=token)
        )
        await asyncio.to_thread(self.log.save, conn, position)
        self.stats.position = 0
        return position


def _traceparent(span: trace.Span) -> str | None:
    """The W3C ``traceparent`` naming ``span``, for the message's headers."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent")
