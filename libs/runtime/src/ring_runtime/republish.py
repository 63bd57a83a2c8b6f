"""What a context topic is missing: the basis of ``ring relay republish`` (no duplicates).

The relay stamps every message with the ``notification_id`` of its stored event, so the events
a topic holds can be read off its headers. Comparing them with the events the relay has already
sent tells exactly which ones the broker lost — *when the topic still holds everything it was
given*. If any partition starts past offset 0 (retention or compaction removed records), absence
proves nothing and :func:`notification_ids_on_topic` answers ``None``.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from ring_events import headers as h
from ring_runtime.kafka import connection_config
from ring_runtime.settings import Settings

#: Most records fetched per round while scanning a topic.
SCAN_BATCH = 5000
#: Empty fetches in a row (of 1 s each) after which a scan gives up.
SCAN_PATIENCE = 30


async def notification_ids_on_topic(settings: Settings, topic: str) -> set[int] | None:
    """The ``notification_id`` of every record on ``topic``; ``None`` when records were removed
    (a partition's first offset is past 0), so that what is missing cannot be told."""
    consumer = AIOKafkaConsumer(
        **connection_config(settings), enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partitions = await consumer.topics()
        if topic not in partitions:
            return set()
        assigned = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(assigned)
        starts = await consumer.beginning_offsets(assigned)
        if any(offset > 0 for offset in starts.values()):
            return None
        ends = await consumer.end_offsets(assigned)
        await consumer.seek_to_beginning(*assigned)
        found: set[int] = set()
        remaining = {tp for tp in assigned if ends[tp] > 0}
        idle = 0
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=SCAN_BATCH)
            idle = 0 if batches else idle + 1
            if idle >= SCAN_PATIENCE:
                raise TimeoutError(f"{topic} stopped answering before its end offsets")
            for tp, records in batches.items():
                for record in records:
                    value = dict(record.headers).get(h.NOTIFICATION_ID)
                    if value is not None:
                        found.add(int(value))
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return found
    finally:
        await consumer.stop()
