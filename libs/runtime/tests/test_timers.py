"""Durable timers on PostgreSQL with a manual clock: idempotent scheduling, firing once,
cancelling, retrying a failing handler, and surviving a restart (a new instance)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from ring_runtime.timers import DurableTimers, ManualClock, Timer, TimerHandler, timer_id

pytestmark = pytest.mark.integration

START = datetime(2030, 1, 1, tzinfo=UTC)
PURPOSE = "test.ring"

MakeTimers = Callable[[TimerHandler], DurableTimers]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def make_timers(postgres_url: str, db_schema: str, clock: ManualClock) -> Iterator[MakeTimers]:
    opened: list[DurableTimers] = []

    def make(handler: TimerHandler) -> DurableTimers:
        timers = DurableTimers(postgres_url, db_schema, clock, {PURPOSE: handler})
        timers.open()
        opened.append(timers)
        return timers

    yield make
    for timers in opened:
        timers.close()


def test_timer_ids_are_deterministic() -> None:
    aggregate = uuid4()
    assert timer_id("a", aggregate) == timer_id("a", aggregate) != timer_id("b", aggregate)


def test_a_timer_fires_once_when_due(make_timers: MakeTimers, clock: ManualClock) -> None:
    fired: list[UUID] = []
    timers = make_timers(lambda t: fired.append(t.aggregate_id))
    aggregate = uuid4()
    timers.schedule(PURPOSE, aggregate, START + timedelta(hours=1))
    timers.schedule(PURPOSE, aggregate, START + timedelta(hours=5))  # idempotent: kept as it was
    assert timers.fire_due() == 0
    clock.advance(timedelta(minutes=59))
    assert timers.fire_due() == 0
    clock.advance(timedelta(minutes=1))
    assert timers.fire_due() == 1
    assert timers.fire_due() == 0
    assert fired == [aggregate]
    assert timers.pending(PURPOSE, aggregate) is None


def test_a_cancelled_timer_never_fires(make_timers: MakeTimers, clock: ManualClock) -> None:
    fired: list[Timer] = []
    timers = make_timers(fired.append)
    aggregate = uuid4()
    timers.schedule(PURPOSE, aggregate, START + timedelta(hours=1))
    timers.cancel(PURPOSE, aggregate)
    clock.advance(timedelta(days=1))
    assert timers.fire_due() == 0
    assert fired == []


def test_a_failing_handler_is_retried_later(make_timers: MakeTimers, clock: ManualClock) -> None:
    calls: list[int] = []

    def flaky(timer: Timer) -> None:
        calls.append(timer.attempts)
        if len(calls) == 1:
            raise RuntimeError("ledger unreachable")

    timers = make_timers(flaky)
    aggregate = uuid4()
    timers.schedule(PURPOSE, aggregate, START)
    assert timers.fire_due() == 0
    assert timers.pending(PURPOSE, aggregate) == START + timedelta(seconds=5)
    clock.advance(timedelta(seconds=5))
    assert timers.fire_due() == 1
    assert calls == [0, 1]


def test_a_restart_neither_loses_nor_doubles_a_timer(
    make_timers: MakeTimers, clock: ManualClock
) -> None:
    fired: list[UUID] = []
    first = make_timers(lambda t: fired.append(t.aggregate_id))
    aggregate = uuid4()
    first.schedule(PURPOSE, aggregate, START + timedelta(hours=72))
    first.close()
    second = make_timers(lambda t: fired.append(t.aggregate_id))
    second.schedule(PURPOSE, aggregate, START + timedelta(hours=72))  # replayed schedule
    clock.advance(timedelta(hours=72))
    assert second.fire_due() == 1
    third = make_timers(lambda t: fired.append(t.aggregate_id))
    assert third.fire_due() == 0
    assert fired == [aggregate]


def test_manual_clock_needs_an_aware_instant() -> None:
    with pytest.raises(ValueError, match="timezone"):
        ManualClock(datetime(2030, 1, 1))
