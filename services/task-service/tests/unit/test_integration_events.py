"""Every published domain event becomes a public event that survives the Kafka codec."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID, uuid4

from eventsourcing.domain import DomainEventProtocol

from ring_events.base import IntegrationEvent, event_type
from ring_events.envelope import Envelope, decode_envelope, encode_envelope
from ring_events.registry import event_types
from ring_task.application import Tasks
from ring_task.domain import Task
from ring_task.integration import DOMAIN_TO_PUBLIC, TOPIC, to_public


def _stored_events(app: Tasks) -> list[DomainEventProtocol[UUID]]:
    return [
        app.mapper.to_domain_event(notification)
        for notification in app.recorder.select_notifications(start=1, limit=10_000)
    ]


def _exercise_every_event(
    app: Tasks,
    owner: UUID,
    published: Callable[..., UUID],
    draft: Callable[..., UUID],
    now: datetime,
    deadline: datetime,
) -> None:
    failing = draft()
    app.publish(failing, owner, now=now)
    app.mark_funding_failed(failing, "insufficient funds", now=now)
    app.cancel(failing, owner, now=now)

    task_id = published(slots=4, approval_required=True)
    settled = app.take_order(task_id, uuid4(), now=now).id
    order = app.get_order(settled)
    app.approve_application(settled, owner, now=now)
    app.report_progress(settled, order.provider_id, 50, "half", now=now)
    app.submit_voucher(settled, order.provider_id, uuid4(), now=now)
    app.reject_order(settled, owner, "redo", now=now)
    app.submit_voucher(settled, order.provider_id, None, now=now)
    app.approve_order(settled, owner, now=now)
    app.mark_order_settled(settled, now=now)

    declined = app.take_order(task_id, uuid4(), now=now).id
    app.decline_application(declined, owner, "no", now=now)
    withdrawn = app.take_order(task_id, uuid4(), now=now).id
    app.cancel_order(withdrawn, app.get_order(withdrawn).provider_id, now=now)
    late = app.take_order(task_id, uuid4(), now=now).id
    app.expire_order(late, now=deadline)
    app.expire_task(task_id, now=deadline)
    app.complete_task(task_id, now=deadline)


def test_every_public_mapping_round_trips_through_the_codec(
    app: Tasks,
    owner: UUID,
    published: Callable[..., UUID],
    draft: Callable[..., UUID],
    now: datetime,
    deadline: datetime,
) -> None:
    _exercise_every_event(app, owner, published, draft, now, deadline)
    seen: set[type] = set()
    tags: set[str] = set()
    for number, domain_event in enumerate(_stored_events(app), start=1):
        public = to_public(domain_event)
        if public is None:
            assert type(domain_event) not in DOMAIN_TO_PUBLIC
            continue
        seen.add(type(domain_event))
        tags.add(event_type(public))
        envelope = Envelope(
            event=public,
            topic=TOPIC,
            key=str(domain_event.originator_id),
            notification_id=number,
            previous_notification_id=number - 1,
            event_id=str(uuid4()),
            occurred_at=public.occurred_at,
            correlation_id="c",
            causation_id="c",
            source="task",
        )
        decoded = decode_envelope(TOPIC, *encode_envelope(envelope))
        assert decoded == envelope
        assert public.occurred_at.tzinfo is not None
    assert seen == set(DOMAIN_TO_PUBLIC)
    assert tags == {event_type_of(cls) for cls in event_types(TOPIC)}


def event_type_of(cls: type[IntegrationEvent]) -> str:
    return str(cls.__struct_config__.tag)


def test_slot_accounting_is_private() -> None:
    for private in (Task.SlotTaken, Task.SlotReleased, Task.SlotSettled, Task.SlotRefunded):
        assert private not in DOMAIN_TO_PUBLIC
