"""Kafka header names carried by every Ring message, and by every dead-lettered one.

Header values are UTF-8 bytes on the wire.
"""

from __future__ import annotations

#: Position of the event in the producing service's notification log (its outbox).
NOTIFICATION_ID = "notification_id"
#: Id of the aggregate the event belongs to, when the Kafka key is another id (a partition key
#: that keeps related aggregates in order, e.g. every voucher of one order). Consumers track and
#: chain positions per aggregate: this header if present, otherwise the Kafka key.
AGGREGATE_ID = "aggregate_id"
#: Notification id of the previous event *published* for the same aggregate, ``0`` if none;
#: a consumer that has not seen that id for the key knows it missed a message.
PREVIOUS_NOTIFICATION_ID = "previous_notification_id"
#: Stable id of this integration event (identical on every republish).
EVENT_ID = "event_id"
#: When the business fact happened, ISO 8601 in UTC.
OCCURRED_AT = "occurred_at"
#: Id shared by every message of one business conversation.
CORRELATION_ID = "correlation_id"
#: Event id of the message that caused this one.
CAUSATION_ID = "causation_id"
#: W3C trace context of the producing span.
TRACEPARENT = "traceparent"
#: Name of the producing service.
SOURCE = "source"
#: The event's ``type`` tag, so consumers can filter without decoding the value.
EVENT_TYPE = "event_type"

#: Why the consumer gave up on the message.
DLQ_ERROR = "dlq_error"
#: How many times the consumer tried.
DLQ_ATTEMPTS = "dlq_attempts"
#: Name of the consumer that parked the message.
DLQ_CONSUMER = "dlq_consumer"
#: Where the message came from.
DLQ_ORIGINAL_TOPIC = "dlq_original_topic"
DLQ_ORIGINAL_PARTITION = "dlq_original_partition"
DLQ_ORIGINAL_OFFSET = "dlq_original_offset"
