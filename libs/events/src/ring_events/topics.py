"""Kafka topic names: one topic per bounded context, plus a dead-letter topic for each."""

from __future__ import annotations

TASK_EVENTS = "ring.task.events"
MATCHING_EVENTS = "ring.matching.events"
VOUCHER_EVENTS = "ring.voucher.events"
LEDGER_EVENTS = "ring.ledger.events"
DISPUTE_EVENTS = "ring.dispute.events"

#: Every context topic, in the order the core flow touches them.
ALL_TOPICS: tuple[str, ...] = (
    TASK_EVENTS,
    MATCHING_EVENTS,
    VOUCHER_EVENTS,
    LEDGER_EVENTS,
    DISPUTE_EVENTS,
)


def dead_letter_topic(topic: str) -> str:
    """The topic where consumers of ``topic`` park messages they cannot process."""
    return f"{topic}.dlq"
