"""Tamper evidence of a service's event store: a Merkle tree over the log, signed checkpoints.

The :class:`EventChainer` follows the service's events table in notification order (the order
of commit: eventsourcing inserts under an exclusive table lock), appends each event's leaf
(:mod:`ring_runtime.merkle`) to ``<prefix>_event_leaves`` and keeps the tree's compact range
in ``<prefix>_chain_head``, leaves and head in one transaction. Every
``RING_AUDIT_CHECKPOINT_INTERVAL_MS`` it signs the tree head with Ed25519
(``RING_AUDIT_SIGNING_KEY``), keeps the :class:`Checkpoint` in ``<prefix>_audit_checkpoints`` and
publishes it to :data:`CHECKPOINT_TOPIC` (key: the service), where auditors keep their copy.
It runs beside the relay, never inside a command's transaction: writes do not wait for it.

:func:`verify_store` (``ring audit verify``) recomputes every leaf from the log and every
checkpoint root from the leaves, and names the first event edited, deleted, inserted or
reordered. What it can and cannot catch is in docs/decisions/0016.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

import msgspec
import psycopg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from faststream.kafka import KafkaBroker
from psycopg.rows import dict_row
from psycopg.sql import SQL, Composed, Identifier

from ring_runtime.identity import development_identity_keys
from ring_runtime.kafka import ensure_topics
from ring_runtime.merkle import CompactRange, inclusion_path, leaf_hash, leaf_input
from ring_runtime.resilience import Backoff, TaskHealth
from ring_runtime.settings import Settings

log = logging.getLogger("ring.integrity")

#: Topic of every service's signed checkpoints (key: the service name); no service consumes it.
CHECKPOINT_TOPIC = "ring.audit.checkpoints"
#: Namespace of deterministic integration event ids; the same as the relay's (a proof names the
#: ``event_id`` its topic message carries).
EVENT_ID_NAMESPACE = UUID("5b0b7e0c-2f5e-4d7a-9a49-0e1f3c6d2a10")
#: Events chained per transaction.
CHAIN_BATCH = 2000
#: The development audit key pair's file under ``RING_DATA_DIR``.
DEV_AUDIT_KEY_FILE = "audit-checkpoint-dev.json"

Connection = psycopg.Connection[dict[str, Any]]
Publish = Callable[["Checkpoint"], Awaitable[None]]


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """A signed tree head: the first ``size`` events of ``service`` hash to ``root``."""

    service: str
    size: int
    root: str
    signed_at: str
    key: str
    signature: str

    def message(self) -> bytes:
        """The signed bytes: ``ring-audit-checkpoint/v1``, service, size, root, time; one a line."""
        return signed_message(self.service, self.size, self.root, self.signed_at)

    def valid(self, verify_key: str) -> bool:
        """Whether ``verify_key`` (base64 raw Ed25519) signed this checkpoint."""
        try:
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(verify_key))
            public.verify(base64.b64decode(self.signature), self.message())
        except (InvalidSignature, ValueError):
            return False
        return True


def signed_message(service: str, size: int, root: str, signed_at: str) -> bytes:
    """What a checkpoint signature covers."""
    return f"ring-audit-checkpoint/v1\n{service}\n{size}\n{root}\n{signed_at}".encode()


class CheckpointSigner:
    """Signs tree heads with the audit key (a base64 raw Ed25519 seed)."""

    def __init__(self, signing_key: str) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(signing_key))
        self.verify_key = base64.b64encode(
            self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        ).decode()

    def sign(self, service: str, size: int, root: bytes) -> Checkpoint:
        """A checkpoint of ``size`` events hashing to ``root``, signed now."""
        signed_at = datetime.now(UTC).isoformat()
        message = signed_message(service, size, root.hex(), signed_at)
        return Checkpoint(
            service=service,
            size=size,
            root=root.hex(),
            signed_at=signed_at,
            key=self.verify_key,
            signature=base64.b64encode(self._key.sign(message)).decode(),
        )


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One thing :func:`verify_store` found wrong.

    ``kind``: ``edited``, ``deleted``, ``inserted``, ``reordered`` (an event of the log),
    ``leaves_altered`` (the stored tree no longer matches a signed root), ``forged_checkpoint``.
    """

    kind: str
    detail: str
    notification_id: int | None = None
    position: int | None = None
    aggregate_id: str | None = None
    version: int | None = None


class VerifyReport(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`verify_store` checked and found (``findings`` empty: intact)."""

    service: str
    events: int
    chained: int
    checkpoints: int
    findings: list[Finding]


class EventLeaves:
    """The tree tables of one service's event store (in its schema)."""

    def __init__(self, database_url: str, schema: str, events_prefix: str) -> None:
        self.database_url = database_url
        self.schema = schema

        def table(suffix: str) -> Composed:
            return SQL("{}.{}").format(Identifier(schema), Identifier(f"{events_prefix}_{suffix}"))

        self.events = table("events")
        self.leaves = table("event_leaves")
        self.head = table("chain_head")
        self.checkpoints = table("audit_checkpoints")
        self.lock_key = f"ring-chain:{schema}:{events_prefix}"

    def connect(self) -> Connection:
        """A new autocommit connection returning dict rows."""
        return psycopg.connect(
            self.database_url, autocommit=True, row_factory=dict_row, connect_timeout=5
        )

    def create_tables(self, conn: Connection) -> None:
        """Create the tree tables if missing."""
        conn.execute(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (position bigint PRIMARY KEY, "
                "notification_id bigint NOT NULL, originator_id uuid NOT NULL, "
                "originator_version bigint NOT NULL, leaf bytea NOT NULL)"
            ).format(self.leaves)
        )
        conn.execute(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (id int PRIMARY KEY DEFAULT 1 CHECK (id = 1), "
                "size bigint NOT NULL, notification_id bigint NOT NULL, peaks bytea[] NOT NULL)"
            ).format(self.head)
        )
        conn.execute(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (size bigint PRIMARY KEY, body jsonb NOT NULL, "
                "published boolean NOT NULL DEFAULT false)"
            ).format(self.checkpoints)
        )

    def load_head(self, conn: Connection) -> tuple[CompactRange, int]:
        """The tree so far and the notification id of its last leaf."""
        row = conn.execute(
            SQL("SELECT size, notification_id, peaks FROM {}").format(self.head)
        ).fetchone()
        if row is None:
            return CompactRange(), 0
        return CompactRange(int(row["size"]), [bytes(p) for p in row["peaks"]]), int(
            row["notification_id"]
        )

    def read_events(self, conn: Connection, after: int, limit: int) -> list[dict[str, Any]]:
        """Events after notification ``after``, each with the SHA-256 of its stored bytes."""
        return conn.execute(
            SQL(
                "SELECT notification_id, originator_id, originator_version, topic, "
                "sha256(state) AS digest FROM {} WHERE notification_id > %s "
                "ORDER BY notification_id LIMIT %s"
            ).format(self.events),
            (after, limit),
        ).fetchall()

    def append(self, conn: Connection, tree: CompactRange, rows: list[dict[str, Any]]) -> None:
        """Chain ``rows`` onto ``tree``: leaves and the new head commit together."""
        first = tree.size + 1
        values = []
        for offset, row in enumerate(rows):
            leaf = leaf_hash(
                leaf_input(
                    row["originator_id"],
                    row["originator_version"],
                    row["topic"],
                    bytes(row["digest"]),
                )
            )
            tree.append(leaf)
            values.append(
                (
                    first + offset,
                    row["notification_id"],
                    row["originator_id"],
                    row["originator_version"],
                    leaf,
                )
            )
        with conn.transaction():
            # One statement for the whole batch (``executemany`` sends one per leaf).
            conn.execute(
                SQL(
                    "INSERT INTO {} SELECT * FROM unnest("
                    "%s::bigint[], %s::bigint[], %s::uuid[], %s::bigint[], %s::bytea[])"
                ).format(self.leaves),
                [list(column) for column in zip(*values, strict=True)],
            )
            conn.execute(
                SQL(
                    "INSERT INTO {} (id, size, notification_id, peaks) VALUES (1, %s, %s, %s) "
                    "ON CONFLICT (id) DO UPDATE SET size = EXCLUDED.size, "
                    "notification_id = EXCLUDED.notification_id, peaks = EXCLUDED.peaks"
                ).format(self.head),
                (tree.size, rows[-1]["notification_id"], tree.peaks),
            )

    def keep_checkpoint(self, conn: Connection, checkpoint: Checkpoint) -> None:
        """Store ``checkpoint`` (not yet published)."""
        conn.execute(
            SQL("INSERT INTO {} (size, body) VALUES (%s, %s) ON CONFLICT DO NOTHING").format(
                self.checkpoints
            ),
            (checkpoint.size, msgspec.json.encode(checkpoint).decode()),
        )

    def unpublished(self, conn: Connection) -> list[Checkpoint]:
        """Checkpoints kept but not yet on the topic, oldest first."""
        rows = conn.execute(
            SQL("SELECT body::text AS body FROM {} WHERE NOT published ORDER BY size").format(
                self.checkpoints
            )
        ).fetchall()
        return [msgspec.json.decode(row["body"], type=Checkpoint) for row in rows]

    def mark_published(self, conn: Connection, size: int) -> None:
        """Record that the checkpoint of ``size`` is on the topic."""
        conn.execute(
            SQL("UPDATE {} SET published = true WHERE size = %s").format(self.checkpoints),
            (size,),
        )

    def last_signed(self, conn: Connection) -> int:
        """Size of the largest checkpoint kept (0: none)."""
        row = conn.execute(
            SQL("SELECT coalesce(max(size), 0) AS size FROM {}").format(self.checkpoints)
        ).fetchone()
        return int(row["size"]) if row else 0

    def checkpoints_of(self, conn: Connection) -> list[Checkpoint]:
        """Every kept checkpoint, smallest tree first."""
        rows = conn.execute(
            SQL("SELECT body::text AS body FROM {} ORDER BY size").format(self.checkpoints)
        ).fetchall()
        return [msgspec.json.decode(row["body"], type=Checkpoint) for row in rows]

    def proof(
        self, conn: Connection, aggregate_id: UUID, version: int | None
    ) -> dict[str, Any] | None:
        """Inclusion proof of an event against the newest checkpoint covering it.

        Returns ``None`` if no such event is chained; a dict without ``checkpoint`` when the
        event is chained but no checkpoint covers it yet.
        """
        row = conn.execute(
            SQL(
                "SELECT position, notification_id, originator_version, leaf FROM {} "
                "WHERE originator_id = %s AND originator_version = coalesce(%s, "
                "(SELECT max(originator_version) FROM {} WHERE originator_id = %s))"
            ).format(self.leaves, self.leaves),
            (aggregate_id, version, aggregate_id),
        ).fetchone()
        if row is None:
            return None
        event = conn.execute(
            SQL(
                "SELECT topic, sha256(state) AS digest FROM {} "
                "WHERE originator_id = %s AND originator_version = %s"
            ).format(self.events),
            (aggregate_id, row["originator_version"]),
        ).fetchone()
        found: dict[str, Any] = {
            "aggregate_id": str(aggregate_id),
            "version": int(row["originator_version"]),
            "notification_id": int(row["notification_id"]),
            "event_id": str(
                uuid5(EVENT_ID_NAMESPACE, f"{aggregate_id}:{row['originator_version']}")
            ),
            "stored_topic": event["topic"] if event else None,
            "state_sha256": bytes(event["digest"]).hex() if event else None,
            "leaf_index": int(row["position"]) - 1,
            "leaf_hash": bytes(row["leaf"]).hex(),
        }
        covering = conn.execute(
            SQL(
                "SELECT body::text AS body FROM {} WHERE size >= %s ORDER BY size DESC LIMIT 1"
            ).format(self.checkpoints),
            (row["position"],),
        ).fetchone()
        if covering is None:
            return found
        checkpoint = msgspec.json.decode(covering["body"], type=Checkpoint)
        leaves = [
            bytes(r["leaf"])
            for r in conn.execute(
                SQL("SELECT leaf FROM {} WHERE position <= %s ORDER BY position").format(
                    self.leaves
                ),
                (checkpoint.size,),
            )
        ]
        found["checkpoint"] = msgspec.to_builtins(checkpoint)
        found["path"] = [p.hex() for p in inclusion_path(leaves, found["leaf_index"])]
        return found


class EventChainer:
    """Follows the event log into the Merkle tree and signs checkpoints (one replica leads).

    A background loop of every service with an event store (see
    :func:`ring_runtime.process.create_service_app`).
    """

    def __init__(
        self,
        leaves: EventLeaves,
        service: str,
        signer: CheckpointSigner,
        publish: Publish,
        checkpoint_interval: float,
    ) -> None:
        self.leaves = leaves
        self.service = service
        self.signer = signer
        self.publish = publish
        self.checkpoint_interval = checkpoint_interval
        self.health = TaskHealth()
        #: Checkpoints kept in the store but not yet on :data:`CHECKPOINT_TOPIC`.
        self.unpublished = 0
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Ask :meth:`run` to return after the batch in flight."""
        self._stopping.set()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def run(self, interval: float) -> None:
        """Chain new events every ``interval`` seconds, outliving outages with backoff."""
        backoff = Backoff(initial=0.5, maximum=5.0)
        while not self._stopping.is_set():
            try:
                await self._round(interval)
            except Exception as error:
                self.health.failed(error)
                delay = backoff.next()
                log.warning(
                    "chaining %s failed (%r); retrying in %.1f s", self.service, error, delay
                )
                await self._sleep(delay)
            else:
                backoff.reset()

    async def _round(self, interval: float) -> None:
        conn = await asyncio.to_thread(self.leaves.connect)
        try:
            await asyncio.to_thread(self.leaves.create_tables, conn)
            row = await asyncio.to_thread(
                lambda: conn.execute(
                    "SELECT pg_try_advisory_lock(hashtextextended(%s, 0)) AS locked",
                    (self.leaves.lock_key,),
                ).fetchone()
            )
            if not (row and row["locked"]):
                self.health.recovered()
                await self._sleep(2.0)
                return
            await self._lead(conn, interval)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(conn.close)

    async def _lead(self, conn: Connection, interval: float) -> None:
        tree, after = await asyncio.to_thread(self.leaves.load_head, conn)
        signed = await asyncio.to_thread(self.leaves.last_signed, conn)
        next_checkpoint = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            rows = await asyncio.to_thread(self.leaves.read_events, conn, after, CHAIN_BATCH)
            if rows:
                await asyncio.to_thread(self.leaves.append, conn, tree, rows)
                after = int(rows[-1]["notification_id"])
            if tree.size > signed and loop.time() >= next_checkpoint:
                checkpoint = self.signer.sign(self.service, tree.size, tree.root())
                await asyncio.to_thread(self.leaves.keep_checkpoint, conn, checkpoint)
                signed = tree.size
                next_checkpoint = loop.time() + self.checkpoint_interval
            await self._publish_kept(conn)
            self.health.recovered()
            if len(rows) < CHAIN_BATCH:
                await self._sleep(interval)

    async def _publish_kept(self, conn: Connection) -> None:
        """Publish the checkpoints kept but not yet on the topic. A broker that refuses (down,
        or no Write ACL on the topic) does not stop the chaining: the checkpoints stay kept
        and are published on a later round; :attr:`unpublished` says how many wait."""
        kept = await asyncio.to_thread(self.leaves.unpublished, conn)
        self.unpublished = len(kept)
        for checkpoint in kept:
            try:
                await self.publish(checkpoint)
            except Exception as error:
                log.warning(
                    "checkpoint %s of %s not published yet: %r",
                    checkpoint.size,
                    self.service,
                    error,
                )
                return
            await asyncio.to_thread(self.leaves.mark_published, conn, checkpoint.size)
            self.unpublished -= 1


def audit_keys(settings: Settings) -> tuple[str, str]:
    """``(signing key, verify key)``: ``RING_AUDIT_*_KEY``, else the development pair."""
    if settings.audit_signing_key:
        signer = CheckpointSigner(settings.audit_signing_key)
        return settings.audit_signing_key, settings.audit_verify_key or signer.verify_key
    signing, verify = development_identity_keys(settings.data_dir, DEV_AUDIT_KEY_FILE)
    return signing, settings.audit_verify_key or verify


def event_leaves(settings: Settings, application_name: str) -> EventLeaves:
    """The tree tables of the service whose application class is ``application_name``."""
    return EventLeaves(settings.database_url, settings.db_schema, application_name.lower())


def event_chainer(settings: Settings, application_name: str, broker: KafkaBroker) -> EventChainer:
    """The chainer of a service, publishing its checkpoints through ``broker``."""
    created = False

    async def publish(checkpoint: Checkpoint) -> None:
        nonlocal created
        if not created:
            await ensure_topics(settings, [CHECKPOINT_TOPIC])
            created = True
        await broker.publish(
            msgspec.json.encode(checkpoint),
            topic=CHECKPOINT_TOPIC,
            key=settings.service.encode(),
            headers={"content-type": "application/json"},
        )

    return EventChainer(
        event_leaves(settings, application_name),
        settings.service,
        CheckpointSigner(audit_keys(settings)[0]),
        publish,
        settings.audit_checkpoint_interval_ms / 1000,
    )


Progress = Callable[[int], None]


def verify_store(
    leaves: EventLeaves, service: str, verify_key: str, progress: Progress = lambda _: None
) -> VerifyReport:
    """Recompute the tree of ``service`` from its log and check it against its checkpoints.

    Reads one snapshot (repeatable read), so the chainer may keep working. Walks the log and
    the stored leaves side by side and stops at the first event that differs; then folds the
    stored leaves and compares the root at every checkpoint size with the signed root.
    ``progress`` is told of every event or leaf read.
    """
    with leaves.connect() as conn:
        leaves.create_tables(conn)
        conn.autocommit = False
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        _, head = leaves.load_head(conn)
        findings: list[Finding] = []
        events = 0
        chained = 0
        log_rows = _stream(
            conn,
            SQL(
                "SELECT notification_id, originator_id, originator_version, topic, "
                "sha256(state) AS digest FROM {} WHERE notification_id <= %s "
                "ORDER BY notification_id"
            ).format(leaves.events),
            (head,),
            "ring_verify_log",
        )
        leaf_rows = _stream(
            conn,
            SQL(
                "SELECT position, notification_id, originator_id, originator_version, leaf "
                "FROM {} ORDER BY position"
            ).format(leaves.leaves),
            (),
            "ring_verify_leaves",
        )
        event = next(log_rows, None)
        stored = next(leaf_rows, None)
        while event is not None or stored is not None:
            if stored is not None and (
                event is None or stored["notification_id"] < event["notification_id"]
            ):
                findings.append(
                    Finding(
                        kind="deleted",
                        detail=f"event {stored['originator_id']} v{stored['originator_version']} "
                        f"(notification {stored['notification_id']}) is no longer in the log",
                        notification_id=int(stored["notification_id"]),
                        position=int(stored["position"]),
                        aggregate_id=str(stored["originator_id"]),
                        version=int(stored["originator_version"]),
                    )
                )
                break
            assert event is not None
            if stored is None or event["notification_id"] < stored["notification_id"]:
                findings.append(
                    Finding(
                        kind="inserted",
                        detail=f"event {event['originator_id']} v{event['originator_version']} "
                        f"(notification {event['notification_id']}) was never chained",
                        notification_id=int(event["notification_id"]),
                        aggregate_id=str(event["originator_id"]),
                        version=int(event["originator_version"]),
                    )
                )
                break
            leaf = leaf_hash(
                leaf_input(
                    event["originator_id"],
                    event["originator_version"],
                    event["topic"],
                    bytes(event["digest"]),
                )
            )
            if leaf != bytes(stored["leaf"]):
                findings.append(_changed(conn, leaves, event, stored, leaf))
                break
            events += 1
            chained += 1
            progress(1)
            event = next(log_rows, None)
            stored = next(leaf_rows, None)
        checkpoints = leaves.checkpoints_of(conn)
        findings.extend(_check_roots(conn, leaves, checkpoints, verify_key, progress))
        conn.rollback()
    return VerifyReport(
        service=service,
        events=events,
        chained=chained,
        checkpoints=len(checkpoints),
        findings=findings,
    )


def _stream(conn: Connection, query: Composed, params: tuple[Any, ...], name: str) -> Iterator[Any]:
    with conn.cursor(name=name) as cursor:
        cursor.itersize = 5000
        cursor.execute(query, params)
        yield from cursor


def _changed(
    conn: Connection,
    leaves: EventLeaves,
    event: dict[str, Any],
    stored: dict[str, Any],
    leaf: bytes,
) -> Finding:
    """An event whose leaf differs: moved from another place (reordered) or edited."""
    elsewhere = conn.execute(
        SQL("SELECT position, notification_id FROM {} WHERE leaf = %s").format(leaves.leaves),
        (leaf,),
    ).fetchone()
    name = f"event {event['originator_id']} v{event['originator_version']}"
    if elsewhere is not None:
        return Finding(
            kind="reordered",
            detail=f"{name} is at notification {event['notification_id']} but was chained at "
            f"notification {elsewhere['notification_id']} (position {elsewhere['position']})",
            notification_id=int(event["notification_id"]),
            position=int(stored["position"]),
            aggregate_id=str(event["originator_id"]),
            version=int(event["originator_version"]),
        )
    return Finding(
        kind="edited",
        detail=f"{name} (notification {event['notification_id']}) differs from what was "
        f"chained at position {stored['position']}",
        notification_id=int(event["notification_id"]),
        position=int(stored["position"]),
        aggregate_id=str(event["originator_id"]),
        version=int(event["originator_version"]),
    )


def _check_roots(
    conn: Connection,
    leaves: EventLeaves,
    checkpoints: list[Checkpoint],
    verify_key: str,
    progress: Progress,
) -> list[Finding]:
    findings = [
        Finding(kind="forged_checkpoint", detail=f"checkpoint of {c.size} events: bad signature")
        for c in checkpoints
        if not c.valid(verify_key)
    ]
    pending = sorted({c.size: c for c in checkpoints}.items())
    tree = CompactRange()
    if pending:
        for row in _stream(
            conn,
            SQL("SELECT leaf FROM {} WHERE position <= %s ORDER BY position").format(leaves.leaves),
            (pending[-1][0],),
            "ring_verify_roots",
        ):
            tree.append(bytes(row["leaf"]))
            progress(1)
            while pending and pending[0][0] == tree.size:
                size, checkpoint = pending.pop(0)
                if tree.root().hex() != checkpoint.root:
                    findings.append(
                        Finding(
                            kind="leaves_altered",
                            detail=f"the stored tree of {size} events no longer hashes to "
                            f"the root signed at {checkpoint.signed_at}",
                            position=size,
                        )
                    )
    findings.extend(
        Finding(kind="leaves_altered", detail=f"checkpoint of {size} events: leaves missing")
        for size, _ in pending
    )
    return findings
