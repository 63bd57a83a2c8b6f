"""Exactly-once consumers: an integration event changes a service's state at most once.

Tracking is kept per *upstream aggregate*: the position of consumer ``C`` for aggregate ``K`` on
topic ``T`` is a row ``C|T|K`` in the service's tracking table, holding the notification id of the
last event of ``K`` that ``C`` applied. For each message:

* ``notification_id <= position``: a redelivery or republish → acknowledged, no effect;
* ``previous_notification_id == position``: the next event of ``K`` → applied, and the new
  position commits in the same transaction as the effect;
* otherwise an earlier event of ``K`` has not arrived (the broker lost it and the relay will
  republish it) → skipped without effect; it is applied when the republished sequence arrives.

Partitions, offsets and consumer-group state play no part in correctness, so losing them (broker
restart) or changing partition counts cannot drop or double an effect. The reasoning is written
down in ``docs/decisions/0001-consumer-tracking.md``.

The processor remembers the positions it read and recorded, so a message costs no position read:
positions only grow, so a remembered one is at most behind (another replica applied more). A
message at or below it is certainly a duplicate; the next one is applied, and if a replica got
there first the tracking write is refused and counted as a duplicate; anything else is judged
again on the recorded position before it is called out of sequence. A message without an effect
(a type the consumer does not handle) advances its position in one statement, without a
transaction.

A handler that fails is retried with exponential backoff; after the last attempt the message is
parked in the service's ``dead_letters`` table (and copied to ``<topic>.dlq``). An outage of
PostgreSQL or the broker is not the message's fault: it is waited out without counting attempts
(the consumer shows as failing in ``GET /ready`` meanwhile). A message is acknowledged only once
its effect or its dead letter is durable; when neither can be stored the batch is not
acknowledged and is delivered again.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError
from eventsourcing.persistence import IntegrityError, Tracking
from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import Consumer, KafkaMessage
from faststream.message import AckStatus, StreamMessage
from opentelemetry import propagate, trace

from ring_events.base import IntegrationEvent
from ring_events.envelope import Envelope, UndecodableMessage, UnknownEventType, decode_envelope
from ring_events.headers import (
    AGGREGATE_ID,
    DLQ_ATTEMPTS,
    DLQ_CONSUMER,
    DLQ_ERROR,
    DLQ_ORIGINAL_OFFSET,
    DLQ_ORIGINAL_PARTITION,
    DLQ_ORIGINAL_TOPIC,
    EVENT_ID,
    EVENT_TYPE,
    NOTIFICATION_ID,
)
from ring_events.topics import dead_letter_topic
from ring_runtime.context import causing, current_traceparent
from ring_runtime.dead_letters import DeadLetter, DeadLetterStore
from ring_runtime.freshness import Progress
from ring_runtime.kafka import consumer_config
from ring_runtime.metrics import EVENTS_APPLIED
from ring_runtime.resilience import OUTAGE_RETRY_CAP, Backoff, TaskHealth, is_outage
from ring_runtime.settings import Settings
from ring_runtime.unit_of_work import UnitOfWork

log = logging.getLogger("ring.consumer")
_tracer = trace.get_tracer("ring.consumer")

#: Applies one integration event; its effect is saved (or, for a read model, written) through
#: the message's unit of work, which commits the consumer's position with it.
Handler = Callable[[Any, Envelope, UnitOfWork], None]

#: Records fetched and processed per batch (one offset commit each).
BATCH_SIZE = 200

#: A partition is re-read from its start at most this often after gaps.
REWIND_COOLDOWN_SECONDS = 5.0

#: Positions a processor remembers (one per upstream aggregate); the least recently used beyond
#: this are forgotten and read again when their aggregate's next event comes.
REMEMBERED_POSITIONS = 50_000


class TrackingTarget(Protocol):
    """Where a consumer's effects and positions are recorded, atomically together."""

    def position(self, tracking_name: str) -> int:
        """Last applied notification id under ``tracking_name`` (0 when none)."""
        ...

    def positions(self, tracking_names: Sequence[str]) -> dict[str, int]:
        """Last applied notification id of each name that has one, in one round trip."""
        ...

    def latest_position(self, prefix: str) -> int:
        """The highest notification id applied under any name starting with ``prefix``."""
        ...

    def unit_of_work(self, tracking: Tracking) -> AbstractContextManager[UnitOfWork]:
        """The unit of work of the message at ``tracking``: the effect made through it and
        ``tracking`` commit in one transaction, or ``tracking`` alone when there was none.

        Raises:
            IntegrityError: ``tracking`` does not advance the recorded position.
        """
        ...

    def advance(self, tracking: Tracking) -> None:
        """Record ``tracking`` reached by a message without effect (one statement).

        Raises:
            IntegrityError: ``tracking`` does not advance the recorded position.
        """
        ...


class Outcome(enum.Enum):
    """What processing one message did."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    OUT_OF_SEQUENCE = "out_of_sequence"


@dataclass
class ConsumerStats:
    """Counters of one consumer, for readiness output and benchmarks."""

    applied: int = 0
    duplicates: int = 0
    out_of_sequence: int = 0
    dead_lettered: int = 0
    outcomes_by_type: dict[str, int] = field(default_factory=dict)


class ExactlyOnceProcessor:
    """Applies integration events of one topic to a target, each at most once."""

    def __init__(
        self,
        name: str,
        topic: str,
        target: TrackingTarget,
        handlers: Mapping[type[IntegrationEvent], Handler],
    ) -> None:
        self.name = name
        self.topic = topic
        self.target = target
        self.handlers = dict(handlers)
        # Tags of messages it handles: its types' and the older ones they are upcast from.
        self.handled_types = frozenset(
            tag for cls in self.handlers for tag in (_tag(cls), *cls.upcasts)
        )
        self.stats = ConsumerStats()
        self._remembered: OrderedDict[str, int] = OrderedDict()

    def tracking_name(self, key: str) -> str:
        """Tracking row of this consumer for upstream aggregate ``key``."""
        return f"{self.tracking_prefix}{key}"

    @property
    def tracking_prefix(self) -> str:
        """What every tracking row of this consumer starts with."""
        return f"{self.name}|{self.topic}|"

    def known_positions(self, tracking_names: Sequence[str]) -> dict[str, int]:
        """The position under each name: remembered, or read (all unknown ones in one query)."""
        known = {
            name: self._remembered[name] for name in tracking_names if name in self._remembered
        }
        unknown = [name for name in tracking_names if name not in known]
        if unknown:
            recorded = self.target.positions(unknown)
            for name in unknown:
                known[name] = self._remember(name, recorded.get(name, 0))
        return known

    def _remember(self, name: str, position: int) -> int:
        self._remembered[name] = position
        self._remembered.move_to_end(name)
        if len(self._remembered) > REMEMBERED_POSITIONS:
            self._remembered.popitem(last=False)
        return position

    def _recorded_position(self, name: str) -> int:
        return self._remember(name, self.target.position(name))

    def process(self, envelope: Envelope) -> Outcome:
        """Apply ``envelope`` once; see the module docstring for the rules."""
        handler = self.handlers.get(type(envelope.event))
        if handler is None:
            return self._advance(
                envelope.key, envelope.notification_id, envelope.previous_notification_id, None
            )

        def work(unit: UnitOfWork) -> None:
            # One span per step a handler takes (a saga step, a projection update); the
            # events it saves are published as its children.
            with (
                _tracer.start_as_current_span(f"{self.name} {type(envelope.event).__name__}"),
                causing(
                    correlation_id=envelope.correlation_id,
                    causation_id=envelope.event_id,
                    traceparent=current_traceparent() or envelope.traceparent,
                ),
            ):
                handler(envelope.event, envelope, unit)

        return self._advance(
            envelope.key, envelope.notification_id, envelope.previous_notification_id, work
        )

    def skip_unknown(self, message: UnknownEventType) -> Outcome:
        """Advance past a message of an event type this consumer does not know, in sequence
        like any other (a newer producer may publish types older readers lack)."""
        log.info("%s: skipped %s", self.name, message)
        return self._advance(
            message.key, message.notification_id, message.previous_notification_id, None
        )

    def _advance(
        self,
        key: str,
        notification_id: int,
        previous: int,
        work: Callable[[UnitOfWork], None] | None,
    ) -> Outcome:
        """Apply ``work`` (``None``: the message has no effect) if the message is the next of
        its aggregate."""
        name = self.tracking_name(key)
        remembered = name in self._remembered
        position = self.known_positions([name])[name]
        if remembered and notification_id > position and previous != position:
            position = self._recorded_position(name)  # the remembered one may be behind
        if notification_id <= position:
            self.stats.duplicates += 1
            return Outcome.DUPLICATE
        if previous != position:
            self.stats.out_of_sequence += 1
            log.warning(
                "%s: %s of %s skipped: previous %s not yet applied (at %s); awaiting republish",
                self.name,
                notification_id,
                key,
                previous,
                position,
            )
            return Outcome.OUT_OF_SEQUENCE
        tracking = Tracking(application_name=name, notification_id=notification_id)
        try:
            if work is None:
                self.target.advance(tracking)
            else:
                with self.target.unit_of_work(tracking) as unit:
                    work(unit)
        except IntegrityError:
            if self._recorded_position(name) >= notification_id:
                self.stats.duplicates += 1
                return Outcome.DUPLICATE  # a concurrent delivery applied it first
            raise
        except BaseException:
            self._remembered.pop(name, None)  # whether it committed is unknown: read it again
            raise
        self._remember(name, notification_id)
        self.stats.applied += 1
        EVENTS_APPLIED.add(1, {"consumer": self.name, "topic": self.topic})
        return Outcome.APPLIED


class KafkaConsumerBinding:
    """Binds an :class:`ExactlyOnceProcessor` to a faststream subscriber with retry and DLQ."""

    def __init__(
        self,
        processor: ExactlyOnceProcessor,
        settings: Settings,
        dead_letters: DeadLetterStore,
        progress: Progress | None = None,
    ) -> None:
        self.processor = processor
        self.progress = progress
        self.settings = settings
        self.dead_letters = dead_letters
        self._stopping = asyncio.Event()
        self.group_id = f"ring.{settings.service}.{processor.name}"
        self.health = TaskHealth()
        self._rewound_at: dict[TopicPartition, float] = {}
        self._owed_rewinds: dict[TopicPartition, asyncio.Task[None]] = {}
        self._gaps: dict[TopicPartition, set[int]] = {}
        self._applied_through: int | None = None
        self._batch_backoff = Backoff()

    def subscribe(self, broker: KafkaBroker) -> None:
        """Register the subscriber on ``broker`` (call before the broker starts).

        Records are fetched in batches and processed one by one in partition order; the
        offsets are committed once per batch, after every record of it was processed. Offsets
        only save re-reading: the store-side tracking decides what is applied.

        Any exception out of a batch nacks it: faststream then seeks each of its partitions
        back to the batch's first record, which is read again after a growing pause (what was
        applied is skipped as a duplicate). Under ``AckPolicy.ACK`` an exception counted as
        success: the batch was committed, and the consumer's position had already moved past
        the records not yet processed, so they were never applied. ``NACK_ON_ERROR`` keeps
        that so for whatever the handler below does not turn into a nack itself.
        """

        @broker.subscriber(  # type: ignore[untyped-decorator]
            self.processor.topic,
            group_id=self.group_id,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            batch=True,
            max_records=BATCH_SIZE,
            batch_timeout_ms=100,
            decoder=_bodies_unread,
            **consumer_config(self.settings),
        )
        async def deliver(message: KafkaMessage, consumer: Consumer) -> None:
            try:
                await self._deliver_batch(message.raw_message, consumer, broker)
                if await self._committed_short_of_gaps(message.raw_message, consumer):
                    message.committed = AckStatus.ACKED  # faststream's ack would commit past
            except NackMessage:
                raise
            except Exception as error:  # shown in /ready; read again after a pause, not hot
                self.health.failed(error)
                wait = self._batch_backoff.next()
                log.exception(
                    "%s: batch failed; reading it again in %.1f s", self.processor.name, wait
                )
                await self._stopped_within(wait)
                raise NackMessage from error
            self._batch_backoff.reset()

    async def _deliver_batch(
        self,
        records: tuple[ConsumerRecord[bytes, bytes], ...],
        consumer: AIOKafkaConsumer,
        broker: KafkaBroker,
    ) -> None:
        applied = await asyncio.to_thread(self._applied_positions, records)
        for record in records:
            if self._stopping.is_set():
                raise NackMessage  # leave the rest uncommitted: it is read again later
            partition = TopicPartition(record.topic, record.partition)
            if self._already_applied(record, applied):
                self.processor.stats.duplicates += 1
                self._gap_closed(partition, record.offset)
                continue
            outcome = await self.deliver(record, broker)
            if outcome is Outcome.OUT_OF_SEQUENCE:
                self._gaps.setdefault(partition, set()).add(record.offset)
                await self._rewind(consumer, record)
            else:
                self._gap_closed(partition, record.offset)

    def _gap_closed(self, partition: TopicPartition, offset: int) -> None:
        """The record at ``offset``, skipped for a gap before, is now applied (or a duplicate)."""
        gaps = self._gaps.get(partition)
        if gaps is not None:
            gaps.discard(offset)
            if not gaps:
                del self._gaps[partition]

    async def _committed_short_of_gaps(
        self, records: Sequence[ConsumerRecord[bytes, bytes]], consumer: AIOKafkaConsumer
    ) -> bool:
        """Commit the batch's partitions, each only up to its earliest record still skipped for
        a gap; False (nothing committed) when the batch's partitions have none.

        The rewind that reads a skipped record again lives in this process: a consumer
        restarted from an offset past the record would never read it again once its missing
        predecessor arrived. Committing short of it costs a restarted consumer re-reading the
        records after it, which are skipped as duplicates.
        """
        ends: dict[TopicPartition, int] = {}
        for record in records:
            partition = TopicPartition(record.topic, record.partition)
            ends[partition] = max(ends.get(partition, 0), record.offset + 1)
        if not any(partition in self._gaps for partition in ends):
            return False
        await consumer.commit(
            {
                partition: min([end, *self._gaps.get(partition, ())])
                for partition, end in ends.items()
            }
        )
        return True

    def _applied_positions(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> dict[str, int]:
        """Positions of every aggregate in a batch, read in one query.

        After the broker lost its data the relay republishes the whole log, and consumers read
        it all again: skipping what was applied with one query per batch (rather than one per
        record, and without decoding the event) keeps that recovery from growing with history.
        Positions only grow, so a record at or below one read here is certainly a duplicate.
        When they cannot be read (an outage), nothing is skipped and each record takes the
        normal path.
        """
        names = {self.processor.tracking_name(_aggregate(record)) for record in records}
        try:
            return self.processor.known_positions(sorted(names))
        except Exception as error:  # an optimisation only: the per-record path decides
            log.warning("%s: batch positions unreadable: %r", self.processor.name, error)
            return {}

    def _already_applied(
        self, record: ConsumerRecord[bytes, bytes], applied: Mapping[str, int]
    ) -> bool:
        notification_id = _header(record, NOTIFICATION_ID)
        if not notification_id or not notification_id.isdigit():
            return False
        name = self.processor.tracking_name(_aggregate(record))
        return int(notification_id) <= applied.get(name, 0)

    async def _rewind(
        self, consumer: AIOKafkaConsumer, record: ConsumerRecord[bytes, bytes]
    ) -> None:
        """Re-read a partition from its start after a gap (at most once per cool-down).

        A gap means an earlier event of the aggregate was not applied. Normally it is still
        ahead (the relay republishes after broker data loss), but after a broker restart the
        consumer's fetch position may already be past records of the recreated topic. Reading
        the partition again costs only duplicates, which are skipped.

        A gap found within the cool-down is owed a rewind when the cool-down ends, not
        forgotten: the skipped record is committed past, and if its missing predecessor then
        arrived behind it, nothing else would read it again (the consumer stayed stuck on that
        aggregate until some later gap happened to rewind the partition).
        """
        partition = TopicPartition(record.topic, record.partition)
        since = time.monotonic() - self._rewound_at.get(partition, float("-inf"))
        if since >= REWIND_COOLDOWN_SECONDS:
            await self._seek_start(consumer, partition)
        elif partition not in self._owed_rewinds:
            self._owed_rewinds[partition] = asyncio.create_task(
                self._rewind_later(consumer, partition, REWIND_COOLDOWN_SECONDS - since)
            )

    async def _rewind_later(
        self, consumer: AIOKafkaConsumer, partition: TopicPartition, delay: float
    ) -> None:
        """The owed rewind of ``partition``, once its cool-down has passed."""
        try:
            if not await self._stopped_within(delay):
                await self._seek_start(consumer, partition)
        except IllegalStateError:  # revoked meanwhile: its new owner reads it from the commit
            log.warning("%s: %s no longer assigned, not re-read", self.processor.name, partition)
        finally:
            del self._owed_rewinds[partition]

    async def _seek_start(self, consumer: AIOKafkaConsumer, partition: TopicPartition) -> None:
        self._rewound_at[partition] = time.monotonic()
        log.warning("%s: re-reading %s from its start after a gap", self.processor.name, partition)
        await consumer.seek_to_beginning(partition)

    def applied_through(self) -> int:
        """The highest notification id this consumer has applied (its lag's reference).

        Read from the tracking rows once, then kept up to date as records are applied.
        """
        if self._applied_through is None:
            prefix = self.processor.tracking_prefix
            self._applied_through = self.processor.target.latest_position(prefix)
        return self._applied_through

    async def deliver(
        self, record: ConsumerRecord[bytes, bytes], broker: KafkaBroker
    ) -> Outcome | None:
        """Process one record, retried with backoff, then dead-lettered (``None``).

        A record this consumer handles is processed in a consumer span, the child of its
        producer span; one it only steps over (no handler for its type) gets no span.
        """
        headers = {k: bytes(v).decode(errors="replace") for k, v in record.headers or ()}
        if headers.get(EVENT_TYPE) not in self.processor.handled_types:
            outcome = await self._deliver(record, broker)
            self._note_applied(outcome, headers)
            return outcome
        with _tracer.start_as_current_span(
            f"{record.topic} process",
            context=propagate.extract(headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.operation.name": "process",
                "messaging.destination.name": record.topic,
                "messaging.destination.partition.id": str(record.partition),
                "messaging.consumer.group.name": self.group_id,
                "messaging.kafka.offset": record.offset,
                "messaging.message.id": headers.get(EVENT_ID, ""),
            },
        ) as span:
            outcome = await self._deliver(record, broker)
            span.set_attribute("ring.outcome", outcome.value if outcome else "dead_lettered")
        self._note_applied(outcome, headers)
        return outcome

    def _note_applied(self, outcome: Outcome | None, headers: Mapping[str, str]) -> None:
        """Keep :meth:`applied_through` current once it has been read."""
        notification_id = headers.get(NOTIFICATION_ID, "")
        applied = outcome in (Outcome.APPLIED, Outcome.DUPLICATE) and notification_id.isdigit()
        if applied and self._applied_through is not None:
            self._applied_through = max(self._applied_through, int(notification_id))

    async def _deliver(
        self, record: ConsumerRecord[bytes, bytes], broker: KafkaBroker
    ) -> Outcome | None:
        envelope: Envelope | None = None
        try:
            envelope = decode_envelope(
                record.topic, record.key, record.value, list(record.headers or ())
            )
        except UnknownEventType as unknown:
            # Stepping over it writes its position: an outage there is waited out like any.
            step: Callable[[], Outcome] = partial(self.processor.skip_unknown, unknown)
            label = f"{unknown.notification_id} (unknown type)"
        except UndecodableMessage as error:
            await self._park(record, broker, error, attempts=1)
            return None
        else:
            step = partial(self.processor.process, envelope)
            label = str(envelope.notification_id)
        attempts = max(1, self.settings.consumer_max_attempts)
        delay = self.settings.consumer_backoff_ms / 1000
        outage = Backoff(initial=delay or 0.1, maximum=OUTAGE_RETRY_CAP)
        attempt = 1
        while True:
            try:
                outcome = await asyncio.to_thread(step)
            except Exception as error:
                if is_outage(error):  # not the message's fault: wait, without using an attempt
                    self.health.failed(error)
                    wait = outage.next()
                    log.warning(
                        "%s: %s not processed, a dependency is down (%r); retrying in %.2f s",
                        self.processor.name,
                        label,
                        error,
                        wait,
                    )
                    if await self._stopped_within(wait):
                        raise NackMessage from error
                    continue
                if attempt >= attempts:
                    await self._park(record, broker, error, attempts=attempt)
                    return None
                log.warning(
                    "%s: attempt %s/%s at %s failed: %r; retrying in %.2f s",
                    self.processor.name,
                    attempt,
                    attempts,
                    label,
                    error,
                    delay,
                )
                if await self._stopped_within(delay):
                    raise NackMessage from error  # shutting down: neither retried nor parked
                delay = min(delay * 2, 5.0)
                attempt += 1
            else:
                self.health.recovered()
                return outcome if envelope is None else self._advanced(envelope, outcome)

    def _advanced(self, envelope: Envelope, outcome: Outcome) -> Outcome:
        """Tell waiting catch-ups (decision 0009) that the aggregate's position moved."""
        if self.progress is not None and outcome is not Outcome.OUT_OF_SEQUENCE:
            name = self.processor.tracking_name(envelope.key)
            self.progress.advanced(name, envelope.notification_id)
        return outcome

    def stop(self) -> None:
        """Stop between records: the current batch is abandoned without committing offsets."""
        self._stopping.set()

    async def _stopped_within(self, seconds: float) -> bool:
        """Wait ``seconds`` (a retry backoff); True as soon as :meth:`stop` is called."""
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def _park(
        self,
        record: ConsumerRecord[bytes, bytes],
        broker: KafkaBroker,
        error: BaseException,
        *,
        attempts: int,
    ) -> None:
        reason = f"{type(error).__name__}: {error}"
        log.error(
            "%s: parking %s[%s]@%s after %s attempt(s): %s",
            self.processor.name,
            record.topic,
            record.partition,
            record.offset,
            attempts,
            reason,
        )
        letter = DeadLetter(
            consumer=self.processor.name,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=(record.key or b"").decode(errors="replace"),
            value=(record.value or b"").decode(errors="replace"),
            headers={k: v.decode(errors="replace") for k, v in record.headers or ()},
            error=reason,
            attempts=attempts,
        )
        try:
            await asyncio.to_thread(self.dead_letters.add, letter)
        except Exception as store_error:
            # Neither the effect nor the dead letter is durable: leave the batch unacknowledged.
            self.health.failed(store_error)
            log.error(
                "%s: cannot park %s[%s]@%s (%r); it will be delivered again",
                self.processor.name,
                record.topic,
                record.partition,
                record.offset,
                store_error,
            )
            raise NackMessage from store_error
        self.processor.stats.dead_lettered += 1
        headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
        headers.update(
            {
                DLQ_ERROR: reason[:2000],
                DLQ_ATTEMPTS: str(attempts),
                DLQ_CONSUMER: self.processor.name,
                DLQ_ORIGINAL_TOPIC: record.topic,
                DLQ_ORIGINAL_PARTITION: str(record.partition),
                DLQ_ORIGINAL_OFFSET: str(record.offset),
            }
        )
        try:
            await broker.publish(
                record.value or b"",
                topic=dead_letter_topic(record.topic),
                key=record.key,
                headers=headers,
            )
        except Exception as publish_error:  # the table holds the letter; the topic is a copy
            log.error(
                "%s: dead letter of %s[%s]@%s kept in the table only: %r",
                self.processor.name,
                record.topic,
                record.partition,
                record.offset,
                publish_error,
            )


async def _bodies_unread(message: StreamMessage[Any]) -> None:
    """faststream's decoder of the batch: none. The handler reads the raw records and decodes
    only those it applies (:func:`decode_envelope`); faststream's own decoder parsed every
    record of a batch as JSON first, also the duplicates a republish brings by the thousand
    (a third of a consumer's time reading a republished history)."""
    return None


def _header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode(errors="replace")
    return None


def _aggregate(record: ConsumerRecord[bytes, bytes]) -> str:
    """The aggregate a record is tracked under, as :func:`decode_envelope` derives it."""
    return _header(record, AGGREGATE_ID) or (record.key or b"").decode(errors="replace")


def _tag(cls: type[IntegrationEvent]) -> str:
    """The ``type`` tag of an integration event class."""
    tag = cls.__struct_config__.tag
    return tag if isinstance(tag, str) else cls.__name__
