"""Rebuild a read model from the event log into a scratch schema and compare it with the live one.

A service lists its rebuildable read models in its :class:`~ring_runtime.service.ServiceDefinition`
(``read_models``): each is built by a factory given the service settings and the schema to
write to, so the same code that keeps the live tables builds the copy. :func:`rebuild_and_compare`
builds the copy from the first event, brings both to the *same* log position and diffs them
row by row:

1. the copy catches up with the whole log, without any lock (the long part, with progress);
2. the live model catches up, then its position row is locked (live readers and the live
   follower wait) at position *H*; the copy catches up to exactly *H* and a second connection
   takes a repeatable-read snapshot; the lock is then released;
3. the diff runs in that snapshot, where both models stand at *H*, while the live system goes on.

So the comparison is exact on a live system and the lock is held for milliseconds, not for the
diff. The scratch schema is dropped afterwards unless asked to keep it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import msgspec
import psycopg
from psycopg.rows import dict_row
from psycopg.sql import SQL, Composed, Identifier

from ring_runtime.local_projection import OwnEventsFollower
from ring_runtime.projection import ProjectionStore
from ring_runtime.settings import Settings

#: Differing rows shown per table and side.
SHOWN = 20


class LocalReadModel(Protocol):
    """A read model of the service's own events, kept by an :class:`OwnEventsFollower`."""

    store: ProjectionStore
    follower: OwnEventsFollower

    @property
    def tables(self) -> Sequence[str]:
        """Names of the tables the events determine (compared by a rebuild)."""
        ...

    def ddl(self) -> list[Composed]:
        """Statements creating the tables."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


#: Builds a read model of the service whose settings are given, writing to the schema named.
ReadModelFactory = Callable[[Settings, str], LocalReadModel]


class TableDifference(msgspec.Struct, frozen=True, kw_only=True):
    """Rows of one table found only in the live model or only in the rebuilt one."""

    table: str
    only_live: int
    only_rebuilt: int
    live_rows: list[dict[str, Any]]
    rebuilt_rows: list[dict[str, Any]]


class RebuildReport(msgspec.Struct, frozen=True, kw_only=True):
    """Outcome of one rebuild: the position compared, rows per table and the differences."""

    name: str
    position: int
    scratch_schema: str
    rows: dict[str, int]
    differences: list[TableDifference]


def rebuild_and_compare(
    name: str,
    factory: ReadModelFactory,
    settings: Settings,
    *,
    progress: Callable[[int], None] = lambda _: None,
    keep: bool = False,
) -> RebuildReport:
    """Rebuild read model ``name`` into a scratch schema and diff it with the live one."""
    scratch = f"rebuild_{uuid.uuid4().hex[:12]}"
    live = factory(settings, settings.db_schema)
    copy = factory(settings, scratch)
    try:
        live.store.open([*live.follower.ddl(), *live.ddl()])
        copy.store.open([*copy.follower.ddl(), *copy.ddl()])
        copy.follower.catch_up(progress=progress)
        with psycopg.connect(settings.database_url, row_factory=dict_row) as snapshot:
            live.follower.catch_up()
            with live.follower.held() as position:
                copy.follower.catch_up(until=position, progress=progress)
                snapshot.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                snapshot.execute("SELECT 1")  # the snapshot is taken now, under the lock
            rows = {t: _count(snapshot, settings.db_schema, t) for t in live.tables}
            differences = [
                d
                for t in live.tables
                if (d := _diff(snapshot, settings.db_schema, scratch, t)) is not None
            ]
            snapshot.rollback()
    finally:
        live.close()
        copy.close()
        if not keep:
            with psycopg.connect(settings.database_url, autocommit=True) as conn:
                conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(scratch)))
    return RebuildReport(
        name=name, position=position, scratch_schema=scratch, rows=rows, differences=differences
    )


def _count(conn: psycopg.Connection[dict[str, Any]], schema: str, table: str) -> int:
    row = conn.execute(
        SQL("SELECT count(*) AS n FROM {}").format(Identifier(schema, table))
    ).fetchone()
    return int(row["n"]) if row else 0


def _diff(
    conn: psycopg.Connection[dict[str, Any]], live: str, scratch: str, table: str
) -> TableDifference | None:
    """Rows (as JSON, so any column type compares) present on one side only, with counts."""

    def only(left: str, right: str) -> tuple[int, list[dict[str, Any]]]:
        query = SQL(
            "WITH d AS (SELECT to_jsonb(a) AS r FROM {} a EXCEPT ALL "
            "SELECT to_jsonb(b) FROM {} b) SELECT r, count(*) OVER () AS n FROM d LIMIT %s"
        ).format(Identifier(left, table), Identifier(right, table))
        found = conn.execute(query, (SHOWN,)).fetchall()
        return (int(found[0]["n"]) if found else 0), [row["r"] for row in found]

    only_live, live_rows = only(live, scratch)
    only_rebuilt, rebuilt_rows = only(scratch, live)
    if not only_live and not only_rebuilt:
        return None
    return TableDifference(
        table=table,
        only_live=only_live,
        only_rebuilt=only_rebuilt,
        live_rows=live_rows,
        rebuilt_rows=rebuilt_rows,
    )
