"""The exactly-once rules of ExactlyOnceProcessor, on an in-memory tracking target."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from ring_events.base import IntegrationEvent
from ring_events.envelope import Envelope, UnknownEventType
from ring_events.task import TaskCancelled, TaskPublished
from ring_events.topics import TASK_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor, Outcome
from ring_runtime.unit_of_work import UnitOfWork


class MemoryTarget:
    """Positions and effects kept together, as a real target commits them together."""

    def __init__(self) -> None:
        self.recorded: dict[str, int] = {}
        self.effects: list[str] = []
        self.reads = 0
        self.transactions = 0

    def position(self, tracking_name: str) -> int:
        self.reads += 1
        return self.recorded.get(tracking_name, 0)

    def positions(self, tracking_names: Sequence[str]) -> dict[str, int]:
        self.reads += 1
        return {n: self.recorded[n] for n in tracking_names if n in self.recorded}

    def latest_position(self, prefix: str) -> int:
        return max((p for n, p in self.recorded.items() if n.startswith(prefix)), default=0)

    def advance(self, tracking: Tracking) -> None:
        if self.recorded.get(tracking.application_name, 0) >= tracking.notification_id:
            raise IntegrityError("position does not advance")
        self.recorded[tracking.application_name] = tracking.notification_id

    @contextmanager
    def unit_of_work(self, tracking: Tracking) -> Iterator[UnitOfWork]:
        self.transactions += 1
        effects = len(self.effects)
        yield UnitOfWork(tracking)
        if self.recorded.get(tracking.application_name, 0) >= tracking.notification_id:
            del self.effects[effects:]  # the transaction rolls back with its effects
            raise IntegrityError("position does not advance")
        self.recorded[tracking.application_name] = tracking.notification_id


TASK = uuid4()
OWNER = uuid4()


def envelope(
    notification_id: int, previous: int, event: IntegrationEvent | None = None
) -> Envelope:
    now = datetime.now(UTC)
    return Envelope(
        event=event or TaskCancelled(task_id=TASK, owner_id=OWNER, occurred_at=now),
        topic=TASK_EVENTS,
        key=str(TASK),
        notification_id=notification_id,
        previous_notification_id=previous,
        event_id=str(uuid4()),
        occurred_at=now,
        correlation_id="c",
        causation_id="c",
        source="task",
    )


@pytest.fixture
def target() -> MemoryTarget:
    return MemoryTarget()


@pytest.fixture
def processor(target: MemoryTarget) -> ExactlyOnceProcessor:
    return ExactlyOnceProcessor(
        "test",
        TASK_EVENTS,
        target,
        {TaskCancelled: lambda e, env, unit: target.effects.append("x")},
    )


def test_next_event_applies_and_a_redelivery_does_not(
    processor: ExactlyOnceProcessor, target: MemoryTarget
) -> None:
    assert processor.process(envelope(3, 0)) is Outcome.APPLIED
    assert processor.process(envelope(3, 0)) is Outcome.DUPLICATE
    assert target.effects == ["x"]


def test_an_old_event_after_newer_ones_changes_nothing(
    processor: ExactlyOnceProcessor, target: MemoryTarget
) -> None:
    processor.process(envelope(3, 0))
    processor.process(envelope(7, 3))
    assert processor.process(envelope(3, 0)) is Outcome.DUPLICATE
    assert target.effects == ["x", "x"]
    assert target.position(processor.tracking_name(str(TASK))) == 7


def test_a_gap_is_skipped_until_the_missing_event_arrives(
    processor: ExactlyOnceProcessor, target: MemoryTarget
) -> None:
    assert processor.process(envelope(7, 3)) is Outcome.OUT_OF_SEQUENCE
    assert target.effects == []
    assert processor.process(envelope(3, 0)) is Outcome.APPLIED
    assert processor.process(envelope(7, 3)) is Outcome.APPLIED  # the republished sequence
    assert target.effects == ["x", "x"]


def test_unhandled_types_still_advance_the_chain(
    processor: ExactlyOnceProcessor, target: MemoryTarget
) -> None:
    published = TaskPublished(
        task_id=TASK,
        owner_id=OWNER,
        title="t",
        deadline=datetime.now(UTC),
        commission_minor=1,
        currency="CNY",
        slots=1,
        occurred_at=datetime.now(UTC),
    )
    assert processor.process(envelope(2, 0, published)) is Outcome.APPLIED
    assert processor.process(envelope(5, 2)) is Outcome.APPLIED
    assert target.effects == ["x"]


def test_positions_are_read_once_then_remembered(
    processor: ExactlyOnceProcessor, target: MemoryTarget
) -> None:
    for n in range(1, 6):
        assert processor.process(envelope(n, n - 1)) is Outcome.APPLIED
    assert processor.process(envelope(3, 2)) is Outcome.DUPLICATE
    assert target.reads == 1
    assert target.effects == ["x"] * 5


def test_a_gap_in_a_position_just_read_is_not_read_twice(
    processor: ExactlyOnceProcessor, target: MemoryTarget
) -> None:
    assert processor.process(envelope(7, 3)) is Outcome.OUT_OF_SEQUENCE
    assert target.reads == 1


def test_a_remembered_position_another_replica_overtook_is_read_again(
    processor: ExactlyOnceProcessor, target: MemoryTarget
) -> None:
    name = f"test|{TASK_EVENTS}|{TASK}"
    assert processor.process(envelope(3, 0)) is Outcome.APPLIED
    target.recorded[name] = 7  # another replica applied 7 (after 3) meanwhile
    assert processor.process(envelope(7, 3)) is Outcome.DUPLICATE  # refused, then read
    assert processor.process(envelope(9, 7)) is Outcome.APPLIED
    target.recorded[name] = 12  # and 12 (after 9)
    assert processor.process(envelope(15, 12)) is Outcome.APPLIED  # read before judging a gap
    assert target.effects == ["x", "x", "x"]
    assert processor.stats.out_of_sequence == 0


def test_a_message_without_effect_advances_without_a_transaction(
    processor: ExactlyOnceProcessor, target: MemoryTarget
) -> None:
    published = TaskPublished(
        task_id=TASK,
        owner_id=OWNER,
        title="t",
        deadline=datetime.now(UTC),
        commission_minor=1,
        currency="CNY",
        slots=1,
        occurred_at=datetime.now(UTC),
    )
    assert processor.process(envelope(2, 0, published)) is Outcome.APPLIED
    assert processor.process(envelope(2, 0, published)) is Outcome.DUPLICATE
    assert target.transactions == 0
    assert target.recorded == {f"test|{TASK_EVENTS}|{TASK}": 2}


def test_a_concurrent_delivery_that_won_is_counted_as_duplicate(target: MemoryTarget) -> None:
    def racing_handler(event: object, env: Envelope, unit: UnitOfWork) -> None:
        target.recorded[f"test|{TASK_EVENTS}|{TASK}"] = 3  # another replica committed first

    processor = ExactlyOnceProcessor("test", TASK_EVENTS, target, {TaskCancelled: racing_handler})
    assert processor.process(envelope(3, 0)) is Outcome.DUPLICATE


def test_a_failing_handler_records_no_position(target: MemoryTarget) -> None:
    def failing(event: object, env: Envelope, unit: UnitOfWork) -> None:
        raise RuntimeError("boom")

    processor = ExactlyOnceProcessor("test", TASK_EVENTS, target, {TaskCancelled: failing})
    with pytest.raises(RuntimeError, match="boom"):
        processor.process(envelope(3, 0))
    assert target.recorded == {}


def test_an_unknown_event_type_is_skipped_in_sequence(target: MemoryTarget) -> None:
    """A newer producer's event type advances the position, so what follows still applies."""
    processor = ExactlyOnceProcessor("c", TASK_EVENTS, target, {TaskCancelled: _record(target)})
    unknown = UnknownEventType(TASK_EVENTS, "task.exploded.v1", str(TASK), 5, 0)
    assert processor.skip_unknown(unknown) is Outcome.APPLIED
    assert processor.skip_unknown(unknown) is Outcome.DUPLICATE
    assert processor.process(envelope(9, 5)) is Outcome.APPLIED
    assert target.effects == ["cancelled"]


def _record(target: MemoryTarget) -> Callable[..., None]:
    def handle(event: object, _: Envelope, unit: UnitOfWork) -> None:
        target.effects.append("cancelled")

    return handle
