"""Read a whole topic from its first record, for operators and analysts (not for services).

Two uses: ``ring relay republish`` tells what a context topic is missing — the relay stamps
every message with its stored event's ``notification_id``, so the events a topic holds can be
read off its headers, *when the topic still holds everything it was given* (if a partition
starts past offset 0, retention or compaction removed records and absence proves nothing) —
and ``ring export`` turns the topics into tables.
"""

from __future__ import annotations

from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from ring_events import headers as h
from ring_runtime.kafka import connection_config
from ring_runtime.settings import Settings

#: Most records fetched per round while reading a topic.
SCAN_BATCH = 5000
#: Empty fetches in a row (of 1 s each) after which a read gives up.
SCAN_PATIENCE = 30

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


async def read_topic(settings: Settings, topic: str) -> tuple[list[Record], bool]:
    """Every record ``topic`` holds now, partition by partition, and whether they are all it
    was ever given (no partition starts past offset 0). A missing topic holds nothing."""
    consumer = AIOKafkaConsumer(
        **connection_config(settings), enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        if topic not in await consumer.topics():
            return [], True
        assigned = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(assigned)
        starts = await consumer.beginning_offsets(assigned)
        ends = await consumer.end_offsets(assigned)
        await consumer.seek_to_beginning(*assigned)
        found: list[Record] = []
        remaining = {tp for tp in assigned if ends[tp] > starts[tp]}
        idle = 0
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=SCAN_BATCH)
            idle = 0 if batches else idle + 1
            if idle >= SCAN_PATIENCE:
                raise TimeoutError(f"{topic} stopped answering before its end offsets")
            for tp, records in batches.items():
                found.extend(records)
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return found, all(offset == 0 for offset in starts.values())
    finally:
        await consumer.stop()


async def notification_ids_on_topic(settings: Settings, topic: str) -> set[int] | None:
    """The ``notification_id`` of every record on ``topic``; ``None`` when records were removed,
    so that what is missing cannot be told."""
    records, complete = await read_topic(settings, topic)
    if not complete:
        return None
    found = set()
    for record in records:
        value = dict(record.headers).get(h.NOTIFICATION_ID)
        if value is not None:
            found.add(int(value))
    return found
