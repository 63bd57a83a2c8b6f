"""Tamper evidence: the Merkle tree, signed checkpoints, ``ring audit verify`` and proofs.

The store tests tamper with rows directly in PostgreSQL, as someone with database access would,
and show that verification names what was done.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import msgspec
import psycopg
import pytest
from click.testing import CliRunner
from eventsourcing.domain import Aggregate, event
from litestar import Litestar
from psycopg.sql import SQL, Identifier

from ring_runtime.commands import audit as audit_command
from ring_runtime.identity import new_identity_keys
from ring_runtime.integrity import (
    Checkpoint,
    CheckpointSigner,
    EventChainer,
    EventLeaves,
    verify_store,
)
from ring_runtime.merkle import CompactRange, inclusion_path, leaf_hash, node_hash, verify_inclusion
from ring_runtime.service import ServiceDefinition

from .conftest import Notes

DOC = Path(__file__).parents[3] / "docs" / "audit-proofs.md"
SIGNING, VERIFY = new_identity_keys()


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH, written as the RFC defines it (the reference for the compact range)."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


@pytest.mark.parametrize("size", range(1, 34))
def test_every_leaf_proves_against_the_root(size: int) -> None:
    leaves = [leaf_hash(str(i).encode()) for i in range(size)]
    tree = CompactRange()
    for leaf in leaves:
        tree.append(leaf)
    assert tree.root() == _mth(leaves)
    for index, leaf in enumerate(leaves):
        path = inclusion_path(leaves, index)
        assert verify_inclusion(leaf, index, size, path, tree.root())
        assert not verify_inclusion(leaf_hash(b"other"), index, size, path, tree.root())
        if size > 1:
            assert not verify_inclusion(leaf, (index + 1) % size, size, path, tree.root())


class Note(Aggregate):
    """A tiny aggregate whose events the tests store."""

    @event("Written")
    def __init__(self, text: str) -> None:
        self.text = text

    @event("Amended")
    def amend(self, text: str) -> None:
        self.text = text


def _leaves(postgres_url: str, db_schema: str) -> EventLeaves:
    return EventLeaves(postgres_url, db_schema, "notes")


def _write(app: Notes, count: int) -> list[UUID]:
    ids = []
    for i in range(count):
        note = Note(f"note {i}")
        note.amend(f"note {i}, amended")
        app.save(note)
        ids.append(note.id)
    return ids


def _chain(leaves: EventLeaves) -> list[Checkpoint]:
    """Run the chainer until the whole log is chained and a checkpoint is published."""
    published: list[Checkpoint] = []

    async def publish(checkpoint: Checkpoint) -> None:
        published.append(checkpoint)

    async def run() -> None:
        chainer = EventChainer(leaves, "task", CheckpointSigner(SIGNING), publish, 0.0)
        task = asyncio.create_task(chainer.run(0.02))
        with leaves.connect() as conn:
            total = conn.execute(
                SQL("SELECT count(*) AS n FROM {}").format(leaves.events)
            ).fetchone()
        for _ in range(500):
            if published and published[-1].size == total["n"]:  # type: ignore[index]
                break
            await asyncio.sleep(0.02)
        chainer.stop()
        await task
        assert chainer.health.ok

    asyncio.run(run())
    return published


def _sql(postgres_url: str, statement: str, db_schema: str, *params: Any) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            SQL(statement).format(
                events=Identifier(db_schema, "notes_events"),
                leaves=Identifier(db_schema, "notes_event_leaves"),
            ),
            params,
        )


def _kinds(postgres_url: str, db_schema: str) -> list[str]:
    report = verify_store(_leaves(postgres_url, db_schema), "task", VERIFY)
    return [f.kind for f in report.findings]


def test_an_untouched_store_verifies_and_checkpoints_are_published(
    notes: Notes, postgres_url: str, db_schema: str
) -> None:
    _write(notes, 4)
    published = _chain(_leaves(postgres_url, db_schema))
    assert published[-1].size == 8
    assert published[-1].valid(VERIFY)
    report = verify_store(_leaves(postgres_url, db_schema), "task", VERIFY)
    assert report.findings == []
    assert report.events == 8
    assert report.checkpoints >= 1
    _write(notes, 1)  # not chained yet: the window verify cannot judge
    assert _kinds(postgres_url, db_schema) == []


def test_an_edited_event_is_named(notes: Notes, postgres_url: str, db_schema: str) -> None:
    ids = _write(notes, 3)
    _chain(_leaves(postgres_url, db_schema))
    _sql(
        postgres_url,
        "UPDATE {events} SET state = state || '\\x20'::bytea WHERE originator_id = %s AND originator_version = 2",
        db_schema,
        ids[1],
    )
    report = verify_store(_leaves(postgres_url, db_schema), "task", VERIFY)
    first = report.findings[0]
    assert (first.kind, first.aggregate_id, first.version) == ("edited", str(ids[1]), 2)


def test_a_deleted_event_is_named(notes: Notes, postgres_url: str, db_schema: str) -> None:
    ids = _write(notes, 3)
    _chain(_leaves(postgres_url, db_schema))
    _sql(
        postgres_url,
        "DELETE FROM {events} WHERE originator_id = %s AND originator_version = 2",
        db_schema,
        ids[0],
    )
    first = verify_store(_leaves(postgres_url, db_schema), "task", VERIFY).findings[0]
    assert (first.kind, first.aggregate_id, first.version) == ("deleted", str(ids[0]), 2)


def test_an_inserted_event_is_named(notes: Notes, postgres_url: str, db_schema: str) -> None:
    _write(notes, 1)
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # a gap, as a rollback leaves
        conn.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), 10)",
            (f"{db_schema}.notes_events",),
        )
    _write(notes, 1)
    _chain(_leaves(postgres_url, db_schema))
    forged = uuid4()
    _sql(
        postgres_url,
        "INSERT INTO {events} (originator_id, originator_version, topic, state, notification_id) "
        "SELECT %s, originator_version, topic, state, 5 FROM {events} WHERE notification_id = 1",
        db_schema,
        forged,
    )
    first = verify_store(_leaves(postgres_url, db_schema), "task", VERIFY).findings[0]
    assert (first.kind, first.aggregate_id, first.notification_id) == ("inserted", str(forged), 5)


def test_reordered_events_are_named(notes: Notes, postgres_url: str, db_schema: str) -> None:
    ids = _write(notes, 3)
    _chain(_leaves(postgres_url, db_schema))
    swap = "UPDATE {events} SET notification_id = %s WHERE notification_id = %s"
    _sql(postgres_url, swap, db_schema, -1, 3)
    _sql(postgres_url, swap, db_schema, 3, 5)
    _sql(postgres_url, swap, db_schema, 5, -1)
    first = verify_store(_leaves(postgres_url, db_schema), "task", VERIFY).findings[0]
    assert (first.kind, first.aggregate_id, first.notification_id) == ("reordered", str(ids[2]), 3)


def test_a_rewritten_tree_no_longer_matches_the_signed_root(
    notes: Notes, postgres_url: str, db_schema: str
) -> None:
    """Whoever edits an event and its leaf alike is caught by the signed checkpoint."""
    ids = _write(notes, 2)
    _chain(_leaves(postgres_url, db_schema))
    _sql(
        postgres_url,
        "UPDATE {events} SET state = state || '\\x20'::bytea WHERE originator_id = %s AND originator_version = 1",
        db_schema,
        ids[0],
    )
    _sql(
        postgres_url,
        "UPDATE {leaves} l SET leaf = sha256('\\x00'::bytea || convert_to(e.originator_id::text || "
        "E'\\n' || e.originator_version || E'\\n' || e.topic || E'\\n' || encode(sha256(e.state), "
        "'hex'), 'UTF8')) FROM {events} e WHERE l.notification_id = e.notification_id",
        db_schema,
    )
    assert _kinds(postgres_url, db_schema) == ["leaves_altered"]


def test_a_checkpoint_not_signed_by_the_audit_key_is_forged(
    notes: Notes, postgres_url: str, db_schema: str
) -> None:
    _write(notes, 1)
    _chain(_leaves(postgres_url, db_schema))
    other = CheckpointSigner(new_identity_keys()[0])
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        row = conn.execute(
            SQL("SELECT body::text FROM {}").format(
                Identifier(db_schema, "notes_audit_checkpoints")
            )
        ).fetchone()
        assert row is not None
        kept = msgspec.json.decode(row[0], type=Checkpoint)
        forged = other.sign("task", kept.size, bytes.fromhex(kept.root))
        conn.execute(
            SQL("UPDATE {} SET body = %s").format(Identifier(db_schema, "notes_audit_checkpoints")),
            (msgspec.json.encode(forged).decode(),),
        )
    assert _kinds(postgres_url, db_schema) == ["forged_checkpoint"]


def test_a_third_party_checks_a_proof_with_the_documented_code(
    notes: Notes, postgres_url: str, db_schema: str
) -> None:
    ids = _write(notes, 5)
    checkpoint = _chain(_leaves(postgres_url, db_schema))[-1]
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)
    leaves = _leaves(postgres_url, db_schema)
    with leaves.connect() as conn:
        for aggregate in ids:
            for version in (1, 2):
                proof = leaves.proof(conn, aggregate, version)
                assert proof is not None
                published = msgspec.to_builtins(checkpoint)
                assert namespace["check_proof"](proof, published, VERIFY)
                assert not namespace["check_proof"](
                    {**proof, "version": 3 - version}, published, VERIFY
                )


def test_ring_audit_verify_names_the_tampering_and_exits_1(
    notes: Notes, postgres_url: str, db_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _write(notes, 2)
    _chain(_leaves(postgres_url, db_schema))
    notes_service = ServiceDefinition(
        name="task", create_app=lambda settings: Litestar(), application_name="Notes"
    )
    monkeypatch.setattr(audit_command, "load_service", lambda name: notes_service)
    env = {
        "RING_DATABASE_URL": postgres_url,
        "RING_DB_SCHEMA": db_schema,
        "RING_AUDIT_VERIFY_KEY": VERIFY,
    }
    clean = CliRunner().invoke(audit_command.audit, ["verify", "task"], env=env)
    assert clean.exit_code == 0, clean.output
    assert "task: 4 event(s) match the tree of 4, 1 signed checkpoint(s)" in clean.output
    _sql(
        postgres_url,
        "DELETE FROM {events} WHERE originator_id = %s AND originator_version = 1",
        db_schema,
        ids[1],
    )
    tampered = CliRunner().invoke(audit_command.audit, ["verify", "task"], env=env)
    assert tampered.exit_code == 1
    assert f"task: DELETED: event {ids[1]} v1 (notification 3)" in tampered.output


def test_a_broker_refusing_checkpoints_does_not_stop_the_chaining(
    notes: Notes, postgres_url: str, db_schema: str
) -> None:
    """No Write ACL on the topic, or a broker down: leaves and signed checkpoints are still
    kept, the chainer stays healthy, and the checkpoints wait to be published."""
    _write(notes, 2)
    leaves = _leaves(postgres_url, db_schema)

    async def refuse(checkpoint: Checkpoint) -> None:
        raise ConnectionError("TOPIC_AUTHORIZATION_FAILED")

    async def run() -> EventChainer:
        chainer = EventChainer(leaves, "task", CheckpointSigner(SIGNING), refuse, 0.0)
        task = asyncio.create_task(chainer.run(0.02))
        for _ in range(500):
            if chainer.unpublished:
                break
            await asyncio.sleep(0.02)
        chainer.stop()
        await task
        return chainer

    chainer = asyncio.run(run())
    assert chainer.health.ok
    assert chainer.unpublished >= 1
    report = verify_store(leaves, "task", VERIFY)
    assert report.findings == []
    assert report.checkpoints >= 1
