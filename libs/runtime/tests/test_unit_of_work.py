"""A consumed message's unit of work: its tracking commits with the first save through it, a
second save fails loudly, a failed save does not use it, and no save still advances it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, Tracking
from psycopg.sql import SQL

from ring_events.envelope import Envelope
from ring_events.task import TaskCancelled
from ring_events.topics import TASK_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor, Outcome
from ring_runtime.projection import ProjectionStore
from ring_runtime.unit_of_work import UnitAlreadySaved, UnitOfWork

from .conftest import Notes


class Note(Aggregate):
    """Something to save."""

    @event("Edited")
    def edit(self) -> None:
        """Change the note (one more event)."""


def tracking(notification_id: int = 7) -> Tracking:
    return Tracking(application_name=f"notes|{uuid4()}", notification_id=notification_id)


def versions(app: Notes, note_id: UUID) -> int:
    return len(list(app.events.get(note_id)))


def test_the_first_save_records_the_tracking_with_its_events(notes: Notes) -> None:
    at = tracking()
    note = Note()
    with notes.unit_of_work(at) as unit:
        notes.save(note, unit=unit)
        assert unit.saved
    assert notes.position(at.application_name) == 7
    assert versions(notes, note.id) == 1


def test_a_second_save_through_the_unit_fails_loudly(notes: Notes) -> None:
    at = tracking()
    first, second = Note(), Note()
    with notes.unit_of_work(at) as unit:
        notes.save(first, unit=unit)
        with pytest.raises(UnitAlreadySaved, match="already saved"):
            notes.save(second, unit=unit)
    assert versions(notes, second.id) == 0  # never saved: its effect would not be tracked


def test_a_failed_save_leaves_the_unit_unused(notes: Notes) -> None:
    note = Note()
    notes.save(note)
    stale: Note = notes.repository.get(note.id)
    winner: Note = notes.repository.get(note.id)
    winner.edit()
    notes.save(winner)
    at = tracking()
    with notes.unit_of_work(at) as unit:
        stale.edit()
        with pytest.raises(IntegrityError):  # a concurrent writer got there first
            notes.save(stale, unit=unit)
        assert not unit.saved
        retried: Note = notes.repository.get(note.id)
        retried.edit()
        notes.save(retried, unit=unit)  # the retry records the tracking
    assert notes.position(at.application_name) == 7
    assert versions(notes, note.id) == 3


def test_a_unit_without_a_save_advances_the_position_alone(notes: Notes) -> None:
    at = tracking()
    with notes.unit_of_work(at) as unit:
        pass
    assert not unit.saved
    assert notes.position(at.application_name) == 7


def test_a_unit_whose_work_raised_records_nothing(notes: Notes) -> None:
    at = tracking()
    with pytest.raises(RuntimeError, match="boom"), notes.unit_of_work(at):
        raise RuntimeError("boom")
    assert notes.position(at.application_name) == 0


def test_a_handler_saving_twice_fails_and_keeps_only_its_first_save(notes: Notes) -> None:
    """Through the processor: the message fails loudly; the first save committed with the
    position, the second (which the position would not cover) is not made."""
    saved: list[UUID] = []

    def twice(_: TaskCancelled, __: Envelope, unit: UnitOfWork) -> None:
        for note in (Note(), Note()):
            saved.append(note.id)
            notes.save(note, unit=unit)

    processor = ExactlyOnceProcessor("notes", TASK_EVENTS, notes, {TaskCancelled: twice})
    task_id = uuid4()
    now = datetime.now(UTC)
    message = Envelope(
        event=TaskCancelled(task_id=task_id, owner_id=uuid4(), occurred_at=now),
        topic=TASK_EVENTS,
        key=str(task_id),
        notification_id=3,
        previous_notification_id=0,
        event_id=str(uuid4()),
        occurred_at=now,
        correlation_id="c",
        causation_id="c",
        source="task",
    )
    with pytest.raises(UnitAlreadySaved):
        processor.process(message)
    assert notes.position(processor.tracking_name(str(task_id))) == 3  # the first save's
    assert (versions(notes, saved[0]), versions(notes, saved[1])) == (1, 0)
    assert processor.process(message) is Outcome.DUPLICATE


@pytest.fixture
def store(postgres_url: str, db_schema: str) -> Iterator[ProjectionStore]:
    store = ProjectionStore(postgres_url, db_schema, "lines")
    store.open([SQL("CREATE TABLE IF NOT EXISTS {} (line text)").format(store.table("lines"))])
    yield store
    store.close()


def test_a_read_model_writes_through_its_unit_with_the_tracking(store: ProjectionStore) -> None:
    at = tracking()
    with store.unit_of_work(at) as unit:
        unit.connection.execute(SQL("INSERT INTO {} VALUES ('a')").format(store.table("lines")))
    assert store.position(at.application_name) == 7
    with store.reading() as conn:
        lines = conn.execute(SQL("SELECT count(*) AS n FROM {}").format(store.table("lines")))
        assert lines.fetchone() == {"n": 1}


def test_a_read_model_unit_cannot_be_saved_through(store: ProjectionStore, notes: Notes) -> None:
    """Its tracking is in the read model's table already: an application save would record
    it a second time, elsewhere."""
    at = tracking()
    with pytest.raises(UnitAlreadySaved), store.unit_of_work(at) as unit:
        notes.save(Note(), unit=unit)
    assert store.position(at.application_name) == 0  # the whole transaction rolled back


def test_an_application_unit_has_no_connection_to_write_in() -> None:
    with pytest.raises(RuntimeError, match="save through it"):
        _ = UnitOfWork(tracking()).connection


def test_eventsourcing_still_refuses_tracking_as_a_save_keyword() -> None:
    """Why :meth:`RingApplication.save` records a unit's tracking through eventsourcing's private
    steps (decision 0022, session 10): in 9.5 ``Application.save(..., tracking=...)`` passes
    ``tracking`` twice to ``EventStore.put``. When this fails, the public path works: use it."""
    app: Application[UUID] = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    with pytest.raises(TypeError, match="multiple values for keyword argument 'tracking'"):
        app.save(Note(), tracking=Tracking("notes", 1))
