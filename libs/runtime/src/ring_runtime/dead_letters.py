"""Dead letters: messages a consumer gave up on, kept where operators can see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import psycopg
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A parked message with the reason it was parked."""

    consumer: str
    topic: str
    partition: int
    offset: int
    key: str
    value: str
    headers: dict[str, str]
    error: str
    attempts: int
    parked_at: datetime | None = None


class DeadLetterStore:
    """The ``dead_letters`` table of one service schema."""

    def __init__(self, database_url: str, schema: str) -> None:
        self.database_url = database_url
        self._table = SQL("{}.{}").format(Identifier(schema), Identifier("dead_letters"))

    def create_table(self) -> None:
        """Create the table if it does not exist."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, consumer text NOT NULL, "
                    'topic text NOT NULL, partition int NOT NULL, "offset" bigint NOT NULL, '
                    "key text NOT NULL, value text NOT NULL, headers jsonb NOT NULL, "
                    "error text NOT NULL, attempts int NOT NULL, "
                    "parked_at timestamptz NOT NULL DEFAULT now())"
                ).format(self._table)
            )

    def add(self, letter: DeadLetter) -> None:
        """Park ``letter``."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(
                SQL(
                    'INSERT INTO {} (consumer, topic, partition, "offset", key, value, headers, '
                    "error, attempts) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                ).format(self._table),
                (
                    letter.consumer,
                    letter.topic,
                    letter.partition,
                    letter.offset,
                    letter.key,
                    letter.value,
                    msgspec.json.encode(letter.headers).decode(),
                    letter.error,
                    letter.attempts,
                ),
            )

    def list(self, limit: int = 100) -> list[DeadLetter]:
        """The most recently parked letters, newest first."""
        with psycopg.connect(self.database_url, row_factory=dict_row) as conn:
            rows: list[dict[str, Any]] = conn.execute(
                SQL(
                    'SELECT consumer, topic, partition, "offset", key, value, headers, error, '
                    "attempts, parked_at FROM {} ORDER BY id DESC LIMIT %s"
                ).format(self._table),
                (limit,),
            ).fetchall()
        return [DeadLetter(**row) for row in rows]

    def counts(self) -> dict[str, int]:
        """How many letters each consumer has parked (an operator's alarm when it grows)."""
        with psycopg.connect(self.database_url, row_factory=dict_row, connect_timeout=2) as conn:
            rows = conn.execute(
                SQL("SELECT consumer, count(*) AS n FROM {} GROUP BY consumer").format(self._table)
            ).fetchall()
        return {row["consumer"]: int(row["n"]) for row in rows}
