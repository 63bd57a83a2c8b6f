"""Round trips the store no longer makes: pools drop connections the server ended without an
empty query on healthy ones, and a save sends no statement that changes nothing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.domain import Aggregate, event
from psycopg.sql import Composable, Identifier
from psycopg_pool import ConnectionPool

from ring_runtime.connections import still_connected
from ring_runtime.context import causing
from ring_runtime.recorder import RingProcessRecorder

from .conftest import Notes


def test_a_connection_the_server_ended_is_replaced(postgres_url: str) -> None:
    pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
        postgres_url, min_size=1, max_size=1, check=still_connected, open=True
    )
    try:
        with pool.connection() as conn:
            ended = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert ended is not None
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", ended)
            # Until the backend has exited: its notice and closed socket are then at the client.
            deadline = time.monotonic() + 10
            while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", ended).fetchone():
                assert time.monotonic() < deadline, "the terminated backend did not exit"
                time.sleep(0.01)
        # Its row leaves pg_stat_activity a moment before the process ends and its socket
        # closes (the check then saw a live socket, under load): an embedded server's backends
        # are processes of this machine, so wait for that too (briefly: a container's are not).
        deadline = time.monotonic() + 2
        while _alive(ended[0]) and time.monotonic() < deadline:
            time.sleep(0.01)
        with pool.connection() as conn:
            fresh = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert fresh != ended
    finally:
        pool.close()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs here (a zombie has closed its sockets already)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][:1] != "Z"
    except FileNotFoundError:
        return False


def test_a_healthy_connection_passes_without_a_statement(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("SELECT 1")
        still_connected(conn)  # no query: it would show in the connection's result status
        assert conn.pgconn.get_result() is None
        assert conn.execute("SELECT 2").fetchone() == (2,)


class Note(Aggregate):
    """Something to save."""


def test_the_event_store_pool_checks_without_a_round_trip(notes: Notes) -> None:
    recorder = notes.process_recorder
    assert isinstance(recorder, RingProcessRecorder)
    assert recorder.datastore.pool._check is still_connected


def test_a_save_only_locks_the_table_and_notifies_no_one_else(
    notes: Notes, postgres_url: str, db_schema: str
) -> None:
    recorder = notes.process_recorder
    assert isinstance(recorder, RingProcessRecorder)
    with psycopg.connect(postgres_url, autocommit=True) as listener:
        assert [_text(s, listener) for s in recorder.lock_table_statements] == [
            f"LOCK TABLE {Identifier(db_schema, 'notes_events').as_string(listener)} "
            "IN EXCLUSIVE MODE"
        ]
        listener.execute(f"LISTEN {Identifier(recorder.channel_name).as_string(listener)}")
        note = Note()
        notes.save(note)
        assert notes.repository.get(note.id).version == 1
        assert list(listener.notifies(timeout=0.5)) == []


def test_a_lifecycle_correlation_is_read_once(
    notes: Notes, postgres_url: str, db_schema: str
) -> None:
    recorder = notes.process_recorder
    assert isinstance(recorder, RingProcessRecorder)
    note = Note()
    with causing(correlation_id="lifecycle-1", causation_id="c"):
        notes.save(note)
    assert recorder.first_correlation(note.id) == "lifecycle-1"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DELETE FROM {Identifier(db_schema, 'notes_event_context').as_string(conn)}")
    assert recorder.first_correlation(note.id) == "lifecycle-1"  # not read again
    assert recorder.first_correlation(Note().id) is None


class Counter(Aggregate):
    """Several events in one save."""

    @event("Counted")
    def count(self) -> None:
        pass


def test_every_event_of_a_save_keeps_its_context(
    notes: Notes, postgres_url: str, db_schema: str
) -> None:
    counter = Counter()
    counter.count()
    counter.count()
    with causing(correlation_id="lifecycle-2", causation_id="cause", actor="user-1"):
        notes.save(counter)  # three events, one context statement
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT originator_version, correlation_id, causation_id, actor FROM "
            f"{Identifier(db_schema, 'notes_event_context').as_string(conn)} "
            "WHERE originator_id = %s ORDER BY originator_version",
            (counter.id,),
        ).fetchall()
    assert rows == [(v, "lifecycle-2", "cause", "user-1") for v in (1, 2, 3)]


def _text(statement: object, conn: psycopg.Connection[Any]) -> str:
    """A composed SQL statement as the server would receive it."""
    assert isinstance(statement, Composable)
    return statement.as_string(conn)
