"""Refresh sessions: every refresh token is recorded, spent once, and revocable with its family.

A login starts a session *family*; each refresh spends the presented refresh token and records
its successor in the same family (rotation). Presenting a token that was already spent is a
replay, most likely of a stolen token: the whole family is revoked and the caller gets 401
``refresh_token_reused`` (whoever holds the newest token must sign in again too). Logout revokes
one family, or every family of a user.

A family counts as revoked as soon as any of its tokens is marked revoked, so a successor
recorded while the family was being revoked is refused all the same. Tokens live in
PostgreSQL (table ``refresh_tokens`` in the gateway's schema) until they expire
(``RING_REFRESH_TOKEN_DAYS``); a revoked token is kept while its family still has unexpired
tokens, as the family's mark.
Access tokens are not recorded: they stay valid until they expire (decision 0008).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

from psycopg import Connection, sql
from psycopg.rows import TupleRow

from ring_gateway.tables import PurgedTable
from ring_gateway.tokens import InvalidToken, RefreshClaims


class RefreshTokenReused(InvalidToken):
    """A refresh token was presented again after it was spent: its family is now revoked."""

    code = "refresh_token_reused"

    def __init__(self) -> None:
        super().__init__(
            "this refresh token was already used, so it may have been stolen: every token of "
            "its session has been revoked; sign in again"
        )


def _no_longer_valid() -> InvalidToken:
    return InvalidToken(
        "this refresh token is no longer valid (signed out, revoked or expired); sign in again"
    )


class RefreshSessions(Protocol):
    """Where refresh tokens are recorded, spent and revoked."""

    async def start(self, first: RefreshClaims) -> None:
        """Record the first refresh token of a new family (a login)."""
        ...

    async def rotate(self, presented: RefreshClaims, successor: RefreshClaims) -> None:
        """Spend ``presented`` and record ``successor`` in its family, atomically.

        Raises:
            RefreshTokenReused: ``presented`` was spent before; its family is now revoked.
            InvalidToken: ``presented`` is unknown, revoked or expired.
        """
        ...

    async def end(self, family: UUID) -> None:
        """Revoke every token of ``family`` (nothing happens if there is none)."""
        ...

    async def end_all(self, user_id: UUID) -> None:
        """Revoke every token of every family of ``user_id``."""
        ...


@dataclass
class _Recorded:
    claims: RefreshClaims
    used: bool = False
    revoked: bool = False


class MemoryRefreshSessions:
    """In-process store with the same semantics (unit tests, single-process experiments)."""

    def __init__(self) -> None:
        self._tokens: dict[str, _Recorded] = {}

    async def start(self, first: RefreshClaims) -> None:
        self._tokens[first.token_id] = _Recorded(first)

    async def rotate(self, presented: RefreshClaims, successor: RefreshClaims) -> None:
        recorded = self._tokens.get(presented.token_id)
        if recorded is None:
            raise _no_longer_valid()
        family = recorded.claims.family
        if recorded.used:
            await self.end(family)
            raise RefreshTokenReused()
        revoked = any(t.revoked for t in self._tokens.values() if t.claims.family == family)
        if revoked or recorded.claims.expires_at <= datetime.now(UTC):
            raise _no_longer_valid()
        recorded.used = True
        self._tokens[successor.token_id] = _Recorded(successor)

    async def end(self, family: UUID) -> None:
        for token in self._tokens.values():
            if token.claims.family == family:
                token.revoked = True

    async def end_all(self, user_id: UUID) -> None:
        for token in self._tokens.values():
            if token.claims.principal.user_id == user_id:
                token.revoked = True


class PostgresRefreshSessions(PurgedTable):
    """Durable store: one row per refresh token in ``<schema>.refresh_tokens``.

    Spending is ``UPDATE … WHERE used_at IS NULL … RETURNING``: of two concurrent refreshes
    with one token exactly one updates the row; the other finds it spent (a replay).
    """

    name = "refresh_tokens"

    def ddl(self) -> list[sql.Composed]:
        """The table, keyed by token id, with indexes on family and user."""
        table = [
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                " jti text PRIMARY KEY, family uuid NOT NULL, user_id uuid NOT NULL,"
                " expires_at timestamptz NOT NULL, used_at timestamptz,"
                " revoked_at timestamptz)"
            ).format(self._table)
        ]
        return table + [
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
                sql.Identifier(f"refresh_tokens_{column}"), self._table, sql.Identifier(column)
            )
            for column in ("family", "user_id")
        ]

    async def start(self, first: RefreshClaims) -> None:
        await asyncio.to_thread(self._start, first)

    async def rotate(self, presented: RefreshClaims, successor: RefreshClaims) -> None:
        await asyncio.to_thread(self._rotate, presented, successor)

    async def end(self, family: UUID) -> None:
        await asyncio.to_thread(self._revoke, "family", family)

    async def end_all(self, user_id: UUID) -> None:
        await asyncio.to_thread(self._revoke, "user_id", user_id)

    def purge_expired(self) -> None:
        """Delete expired tokens, except revoked ones whose family still has unexpired tokens."""
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL(
                    "DELETE FROM {t} AS t WHERE t.expires_at < %(now)s AND (t.revoked_at IS NULL"
                    " OR NOT EXISTS (SELECT 1 FROM {t} AS live WHERE live.family = t.family"
                    " AND live.expires_at >= %(now)s))"
                ).format(t=self._table),
                {"now": datetime.now(UTC)},
            )

    def _start(self, first: RefreshClaims) -> None:
        self._maybe_purge()
        with self._pool.connection() as conn:
            self._record(conn, first)

    def _rotate(self, presented: RefreshClaims, successor: RefreshClaims) -> None:
        self._maybe_purge()
        now = datetime.now(UTC)
        with self._pool.connection() as conn:
            spent = conn.execute(
                sql.SQL(
                    "UPDATE {t} AS t SET used_at = %(now)s WHERE t.jti = %(jti)s"
                    " AND t.used_at IS NULL AND t.expires_at > %(now)s AND NOT EXISTS"
                    " (SELECT 1 FROM {t} AS r WHERE r.family = t.family"
                    " AND r.revoked_at IS NOT NULL) RETURNING t.family"
                ).format(t=self._table),
                {"now": now, "jti": presented.token_id},
            ).fetchone()
            if spent is not None:
                self._record(conn, successor)
                return
            # A new statement sees what a concurrent winner committed meanwhile.
            found = conn.execute(
                sql.SQL("SELECT family, used_at IS NOT NULL FROM {} WHERE jti = %s").format(
                    self._table
                ),
                (presented.token_id,),
            ).fetchone()
        if found is None or not found[1]:
            raise _no_longer_valid()
        self._revoke("family", found[0])
        raise RefreshTokenReused()

    def _record(self, conn: Connection[TupleRow], token: RefreshClaims) -> None:
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (jti, family, user_id, expires_at) VALUES (%s, %s, %s, %s)"
            ).format(self._table),
            (token.token_id, token.family, token.principal.user_id, token.expires_at),
        )

    def _revoke(self, column: str, value: UUID) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL(
                    "UPDATE {} SET revoked_at = %s WHERE {} = %s AND revoked_at IS NULL"
                ).format(self._table, sql.Identifier(column)),
                (datetime.now(UTC), value),
            )
