"""Every subscription of the notification service: one read model, the parties' feeds.

The feed (:class:`~ring_notification.projections.FeedProjection`) reads every topic that
carries an event a party is told about — ``ring.task.events`` (tasks and orders),
``ring.voucher.events`` (a voucher handed in), ``ring.dispute.events`` and
``ring.ledger.events`` (a withdrawal paid) — one exactly-once consumer per topic; each entry
it writes also queues the deliveries to the party's webhooks.
"""

from __future__ import annotations

from ring_notification.projections import FeedProjection
from ring_runtime.consumer import ExactlyOnceProcessor


def processors(feed: FeedProjection) -> list[ExactlyOnceProcessor]:
    """Every exactly-once consumer the notification service runs."""
    return feed.processors()
