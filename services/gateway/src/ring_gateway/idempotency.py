"""Idempotency keys: the first response to a key is replayed for every retry with the same body.

A key is scoped to the user who sent it. Keys live in PostgreSQL (table ``idempotency_keys`` in
the gateway's schema) for ``RING_IDEMPOTENCY_TTL_HOURS`` (24 h by default); an expired key may be
used again as if new. While the first request is in flight the key is *leased*: a duplicate gets
409 ``request_in_progress``; a lease left by a crashed gateway expires after
:data:`LEASE_SECONDS` and the next retry runs the request again. Responses that tell the client
to retry (5xx, 409, 429) are not stored, so a retry with the same key does run again.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from uuid import UUID

from psycopg import sql
from psycopg_pool import ConnectionPool

from ring_gateway.tables import PurgedTable

#: How long a request may hold its key before a retry may take it over.
LEASE_SECONDS = 60


@dataclass(frozen=True)
class StoredResponse:
    """The first response given to a key."""

    status: int
    body: bytes
    content_type: str


class IdempotencyError(Exception):
    """Base of the idempotency errors a client can cause."""

    code = "idempotency_error"


class IdempotencyKeyReused(IdempotencyError):
    """The key was already used with a different request."""

    code = "idempotency_key_reused"


class RequestInProgress(IdempotencyError):
    """The first request with this key has not finished yet."""

    code = "request_in_progress"


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and exact body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


def should_store(status: int) -> bool:
    """Whether a response is final for its key (retry-me answers are not)."""
    return status < 500 and status not in (409, 429)


class IdempotencyStore(Protocol):
    """Where keys and first responses are kept."""

    async def begin(self, user_id: UUID, key: str, fingerprint: str) -> StoredResponse | None:
        """Lease the key (``None``) or return its stored response.

        Raises:
            IdempotencyKeyReused: the key belongs to a different request.
            RequestInProgress: the key's first request is still running.
        """
        ...

    async def complete(
        self, user_id: UUID, key: str, fingerprint: str, response: StoredResponse
    ) -> None:
        """Store the final response of the leased key."""
        ...

    async def release(self, user_id: UUID, key: str, fingerprint: str) -> None:
        """Give the lease up without a final response (the request may be retried)."""
        ...


@dataclass
class _Entry:
    fingerprint: str
    expires_at: float
    lease_until: float
    response: StoredResponse | None = None


class MemoryIdempotencyStore:
    """In-process store with the same semantics (unit tests, single-process experiments)."""

    def __init__(self, ttl: timedelta = timedelta(hours=24)) -> None:
        self._ttl = ttl.total_seconds()
        self._entries: dict[tuple[UUID, str], _Entry] = {}

    async def begin(self, user_id: UUID, key: str, fingerprint: str) -> StoredResponse | None:
        now = time.monotonic()
        entry = self._entries.get((user_id, key))
        if entry is None or entry.expires_at < now:
            self._entries[(user_id, key)] = _Entry(
                fingerprint, now + self._ttl, now + LEASE_SECONDS
            )
            return None
        if entry.fingerprint != fingerprint:
            raise IdempotencyKeyReused("this Idempotency-Key was used with a different request")
        if entry.response is not None:
            return entry.response
        if entry.lease_until < now:
            entry.lease_until = now + LEASE_SECONDS
            return None
        raise RequestInProgress("a request with this Idempotency-Key is still in progress")

    async def complete(
        self, user_id: UUID, key: str, fingerprint: str, response: StoredResponse
    ) -> None:
        entry = self._entries.get((user_id, key))
        if entry is not None and entry.fingerprint == fingerprint:
            entry.response = response

    async def release(self, user_id: UUID, key: str, fingerprint: str) -> None:
        entry = self._entries.get((user_id, key))
        if entry is not None and entry.fingerprint == fingerprint and entry.response is None:
            del self._entries[(user_id, key)]


class PostgresIdempotencyStore(PurgedTable):
    """Durable store: one row per (user, key) in ``<schema>.idempotency_keys``."""

    name = "idempotency_keys"

    def __init__(self, pool: ConnectionPool, schema: str, ttl: timedelta) -> None:
        super().__init__(pool, schema)
        self._ttl = ttl

    def ddl(self) -> list[sql.Composed]:
        """The table, keyed by user and key."""
        return [
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                " user_id uuid NOT NULL, key text NOT NULL, fingerprint text NOT NULL,"
                " created_at timestamptz NOT NULL, expires_at timestamptz NOT NULL,"
                " lease_until timestamptz NOT NULL, status integer, body bytea,"
                " content_type text, PRIMARY KEY (user_id, key))"
            ).format(self._table)
        ]

    def purge_expired(self) -> None:
        """Delete keys kept longer than the TTL."""
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE expires_at < %s").format(self._table),
                (datetime.now(UTC),),
            )

    async def begin(self, user_id: UUID, key: str, fingerprint: str) -> StoredResponse | None:
        return await asyncio.to_thread(self._begin, user_id, key, fingerprint)

    async def complete(
        self, user_id: UUID, key: str, fingerprint: str, response: StoredResponse
    ) -> None:
        await asyncio.to_thread(self._complete, user_id, key, fingerprint, response)

    async def release(self, user_id: UUID, key: str, fingerprint: str) -> None:
        await asyncio.to_thread(self._release, user_id, key, fingerprint)

    def _begin(self, user_id: UUID, key: str, fingerprint: str) -> StoredResponse | None:
        now = datetime.now(UTC)
        self._maybe_purge()
        with self._pool.connection() as conn:
            leased = conn.execute(
                sql.SQL(
                    "INSERT INTO {t} AS k (user_id, key, fingerprint, created_at, expires_at,"
                    " lease_until) VALUES (%(u)s, %(k)s, %(f)s, %(now)s, %(exp)s, %(lease)s)"
                    " ON CONFLICT (user_id, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,"
                    " created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,"
                    " lease_until = EXCLUDED.lease_until, status = NULL, body = NULL,"
                    " content_type = NULL"
                    " WHERE k.expires_at < %(now)s OR (k.status IS NULL"
                    " AND k.lease_until < %(now)s AND k.fingerprint = EXCLUDED.fingerprint)"
                    " RETURNING 1"
                ).format(t=self._table),
                {
                    "u": user_id,
                    "k": key,
                    "f": fingerprint,
                    "now": now,
                    "exp": now + self._ttl,
                    "lease": now + timedelta(seconds=LEASE_SECONDS),
                },
            ).fetchone()
            if leased is not None:
                return None
            row = conn.execute(
                sql.SQL(
                    "SELECT fingerprint, status, body, content_type FROM {} "
                    "WHERE user_id = %s AND key = %s"
                ).format(self._table),
                (user_id, key),
            ).fetchone()
        if row is None:  # purged between the two statements: try once more
            return self._begin(user_id, key, fingerprint)
        stored_fingerprint, status, body, content_type = row
        if stored_fingerprint != fingerprint:
            raise IdempotencyKeyReused("this Idempotency-Key was used with a different request")
        if status is None:
            raise RequestInProgress("a request with this Idempotency-Key is still in progress")
        return StoredResponse(status=status, body=bytes(body), content_type=content_type)

    def _complete(
        self, user_id: UUID, key: str, fingerprint: str, response: StoredResponse
    ) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL(
                    "UPDATE {} SET status = %s, body = %s, content_type = %s "
                    "WHERE user_id = %s AND key = %s AND fingerprint = %s"
                ).format(self._table),
                (response.status, response.body, response.content_type, user_id, key, fingerprint),
            )

    def _release(self, user_id: UUID, key: str, fingerprint: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE user_id = %s AND key = %s AND fingerprint = %s "
                    "AND status IS NULL"
                ).format(self._table),
                (user_id, key, fingerprint),
            )
