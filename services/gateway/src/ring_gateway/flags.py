"""The review queue: orders whose two parties looked like one person (decision 0017).

A flag is recorded when Party B takes a slot on a task and the self-dealing rules of
:mod:`ring_gateway.domain` find evidence: ``flag`` (the order went ahead, an admin should look)
or ``refuse`` (the attempt was refused). Admins page through the queue newest first with
``GET /v1/admin/flags``. Flags live in PostgreSQL (table ``review_flags`` in the gateway's
schema) and are kept: they are the record of what was suspected and when.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from ring_runtime.paging import decode_position, encode_position


class ReviewFlag(msgspec.Struct, frozen=True, kw_only=True):
    """One suspicion for an admin to review."""

    id: UUID
    kind: str
    verdict: str
    evidence: list[str]
    task_id: UUID
    owner_id: UUID
    provider_id: UUID
    created_at: datetime


class FlagPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of flags, newest first, and the cursor of the next page (``None`` at the end)."""

    items: list[ReviewFlag]
    next_cursor: str | None


class FlagStore(Protocol):
    """Where review flags are kept."""

    async def add(self, flag: ReviewFlag) -> None:
        """Record ``flag``."""
        ...

    async def page(self, cursor: str | None, limit: int) -> FlagPage:
        """Flags newest first, after ``cursor`` (a ``next_cursor``).

        Raises:
            InvalidCursor: ``cursor`` was not issued by this listing.
        """
        ...


def _page(rows: list[ReviewFlag], limit: int) -> FlagPage:
    items = rows[:limit]
    more = len(rows) > limit
    last = items[-1] if items else None
    return FlagPage(
        items=items,
        next_cursor=encode_position(last.created_at, last.id) if more and last else None,
    )


class MemoryFlagStore:
    """Flags in memory (unit tests)."""

    def __init__(self) -> None:
        self._flags: list[ReviewFlag] = []

    async def add(self, flag: ReviewFlag) -> None:
        self._flags.append(flag)

    async def page(self, cursor: str | None, limit: int) -> FlagPage:
        ordered = sorted(self._flags, key=lambda f: (f.created_at, f.id), reverse=True)
        if cursor is not None:
            after = decode_position(cursor)
            ordered = [f for f in ordered if (f.created_at, f.id) < after]
        return _page(ordered, limit)


class PostgresFlagStore:
    """Durable flags: one row per flag in ``<schema>.review_flags``."""

    def __init__(self, pool: ConnectionPool, schema: str) -> None:
        self._pool = pool
        self._table = sql.Identifier(schema, "review_flags")

    def create_table(self) -> None:
        """Create the table and its listing index if needed (the pool must be open)."""
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, kind text NOT NULL,"
                    " verdict text NOT NULL, evidence text[] NOT NULL, task_id uuid NOT NULL,"
                    " owner_id uuid NOT NULL, provider_id uuid NOT NULL,"
                    " created_at timestamptz NOT NULL)"
                ).format(self._table)
            )
            conn.execute(
                sql.SQL(
                    "CREATE INDEX IF NOT EXISTS review_flags_newest ON {} (created_at DESC, id DESC)"
                ).format(self._table)
            )

    async def add(self, flag: ReviewFlag) -> None:
        await asyncio.to_thread(self._add, flag)

    async def page(self, cursor: str | None, limit: int) -> FlagPage:
        after = decode_position(cursor) if cursor is not None else None
        return await asyncio.to_thread(self._page, after, limit)

    def _add(self, flag: ReviewFlag) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (id, kind, verdict, evidence, task_id, owner_id, provider_id,"
                    " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                ).format(self._table),
                (
                    flag.id,
                    flag.kind,
                    flag.verdict,
                    flag.evidence,
                    flag.task_id,
                    flag.owner_id,
                    flag.provider_id,
                    flag.created_at,
                ),
            )

    def _page(self, after: tuple[datetime, UUID] | None, limit: int) -> FlagPage:
        where = sql.SQL("WHERE (created_at, id) < (%s, %s)") if after else sql.SQL("")
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                sql.SQL(
                    "SELECT id, kind, verdict, evidence, task_id, owner_id, provider_id, created_at"
                    " FROM {} {} ORDER BY created_at DESC, id DESC LIMIT %s"
                ).format(self._table, where),
                (*(after or ()), limit + 1),
            ).fetchall()
        return _page([msgspec.convert(row, ReviewFlag) for row in rows], limit)
