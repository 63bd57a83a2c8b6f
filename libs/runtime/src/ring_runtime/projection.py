"""Read models in PostgreSQL tables, updated exactly once with their tracking positions.

A :class:`ProjectionStore` owns some tables in the service schema and a tracking table of its
own. :meth:`ProjectionStore.unit_of_work` opens one transaction per consumed message that
advances the tracking row and hands the handler the connection to write in (the unit of work's
:attr:`~ring_runtime.unit_of_work.UnitOfWork.connection`), so a read model never shows an effect
twice or loses one.

A service process mounts all its read models at once (:class:`MountedReadModels`, done by
``create_service_app(read_models=...)``): their stores share one connection pool, their tables
are created before the app is built, and the pool closes when the process stops. A store opened
on its own (:meth:`ProjectionStore.open`: operators' tools, rebuilds, tests) has a pool of its
own.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import psycopg
from eventsourcing.persistence import IntegrityError, Tracking
from psycopg.rows import dict_row
from psycopg.sql import SQL, Composed, Identifier
from psycopg_pool import ConnectionPool

from ring_runtime.connections import still_connected
from ring_runtime.store import create_schema_sql
from ring_runtime.unit_of_work import UnitOfWork

#: Connections each mounted store may hold at once, as when each had a pool of its own.
CONNECTIONS_PER_STORE = 8

Pool = ConnectionPool[psycopg.Connection[dict[str, Any]]]


def read_model_pool(database_url: str, max_size: int = CONNECTIONS_PER_STORE) -> Pool:
    """A closed pool for read-model stores.

    Autocommit: a read is one statement, not BEGIN, SELECT, COMMIT; writes that must commit
    together say so with ``conn.transaction()`` (as :meth:`ProjectionStore.unit_of_work` does).
    """
    return ConnectionPool(
        database_url,
        min_size=1,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": True},
        open=False,
        check=still_connected,  # drop connections a PostgreSQL restart broke
    )


class ProjectionStore:
    """Tables of one read model plus its tracking rows, in one schema."""

    def __init__(self, database_url: str, schema: str, name: str) -> None:
        self.database_url = database_url
        self.schema = schema
        self.name = name
        self._tracking = SQL("{}.{}").format(Identifier(schema), Identifier(f"{name}_tracking"))
        self._shared: Pool | None = None
        self._own: Pool | None = None

    @property
    def _pool(self) -> Pool:
        pool = self._own or self._shared
        if pool is None:
            raise RuntimeError(f"the read-model store {self.name!r} is neither open nor mounted")
        return pool

    def open(self, ddl: Sequence[Composed | str] = ()) -> None:
        """Open a pool of this store's own and create its tables (a store used on its own)."""
        self._own = read_model_pool(self.database_url)
        self._own.open(wait=True)
        self.create(ddl)

    def mount(self, pool: Pool) -> None:
        """Use ``pool``, shared with the process's other read models and closed by its owner."""
        self._shared = pool

    def create(self, ddl: Sequence[Composed | str] = ()) -> None:
        """Create the schema, the tracking table and the read model's tables."""
        with self._pool.connection() as conn:
            conn.execute(create_schema_sql(self.schema))
            conn.execute(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} (application_name text PRIMARY KEY, "
                    "notification_id bigint NOT NULL)"
                ).format(self._tracking)
            )
            for statement in ddl:
                conn.execute(SQL(statement) if isinstance(statement, str) else statement)

    def close(self) -> None:
        """Close the pool this store opened (a mounted store's pool is closed by its owner)."""
        if self._own is not None:
            self._own.close()

    def table(self, name: str) -> Composed:
        """The qualified identifier of table ``name`` in this store's schema."""
        return SQL("{}.{}").format(Identifier(self.schema), Identifier(name))

    def position(self, tracking_name: str) -> int:
        """Last applied notification id under ``tracking_name`` (0 when none)."""
        with self._pool.connection() as conn:
            row = conn.execute(
                SQL("SELECT notification_id FROM {} WHERE application_name = %s").format(
                    self._tracking
                ),
                (tracking_name,),
            ).fetchone()
        return int(row["notification_id"]) if row else 0

    def latest_position(self, prefix: str) -> int:
        """The highest position recorded under any tracking name starting with ``prefix``."""
        with self._pool.connection() as conn:
            row = conn.execute(
                SQL(
                    "SELECT max(notification_id) AS n FROM {} WHERE starts_with(application_name, %s)"
                ).format(self._tracking),
                (prefix,),
            ).fetchone()
        return int(row["n"]) if row and row["n"] is not None else 0

    def positions(self, tracking_names: Sequence[str]) -> dict[str, int]:
        """Last applied notification id of each name that has one, in one query."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT application_name, notification_id FROM {} "
                    "WHERE application_name = ANY(%s)"
                ).format(self._tracking),
                (list(tracking_names),),
            ).fetchall()
        return {row["application_name"]: int(row["notification_id"]) for row in rows}

    def positions_under(self, prefixes: Sequence[str]) -> dict[str, int]:
        """Every tracking row whose name starts with one of ``prefixes`` (a consumer's rows, one
        per upstream aggregate), with its position."""
        with self._pool.connection() as conn:
            return self._positions_under(conn, prefixes)

    @contextmanager
    def held(self, prefixes: Sequence[str]) -> Iterator[dict[str, int]]:
        """Keep the read model where it stands for the block, and yield the positions of the
        rows under ``prefixes``: the tracking table is locked against writes, so every
        consumer of this store waits (its readers do not). Keep the block short."""
        with self._pool.connection() as conn, conn.transaction():
            # SHARE conflicts with the ROW EXCLUSIVE every :meth:`unit_of_work` takes first, so
            # once it is granted no unit is half done and none can start.
            conn.execute(SQL("LOCK TABLE {} IN SHARE MODE").format(self._tracking))
            yield self._positions_under(conn, prefixes)

    def _positions_under(
        self, conn: psycopg.Connection[dict[str, Any]], prefixes: Sequence[str]
    ) -> dict[str, int]:
        rows = conn.execute(
            SQL(
                "SELECT application_name, notification_id FROM {} WHERE application_name ^@ ANY(%s)"
            ).format(self._tracking),
            (list(prefixes),),
        ).fetchall()
        return {row["application_name"]: int(row["notification_id"]) for row in rows}

    @contextmanager
    def unit_of_work(self, tracking: Tracking) -> Iterator[UnitOfWork]:
        """One transaction advancing ``tracking``, in which the block writes the message's
        effect through the unit's :attr:`~ring_runtime.unit_of_work.UnitOfWork.connection`.

        The tracking is taken first, so the unit counts as saved: an application save through
        it would record a position this store already holds, and raises instead.

        Raises:
            IntegrityError: ``tracking`` does not advance the recorded position.
        """
        with self._pool.connection() as conn, conn.transaction():
            unit = UnitOfWork(tracking, conn)
            with unit.saving():
                self._advance(conn, tracking)
            yield unit

    def advance(self, tracking: Tracking) -> None:
        """Advance ``tracking`` for a message without effect, in one autocommit statement.

        Raises:
            IntegrityError: ``tracking`` does not advance the recorded position.
        """
        with self._pool.connection() as conn:
            self._advance(conn, tracking)

    def _advance(self, conn: psycopg.Connection[dict[str, Any]], tracking: Tracking) -> None:
        row = conn.execute(
            SQL(
                "INSERT INTO {t} VALUES (%s, %s) ON CONFLICT (application_name) DO UPDATE "
                "SET notification_id = EXCLUDED.notification_id "
                "WHERE {t}.notification_id < EXCLUDED.notification_id RETURNING 1"
            ).format(t=self._tracking),
            (tracking.application_name, tracking.notification_id),
        ).fetchone()
        if row is None:
            raise IntegrityError(f"position {tracking} does not advance")

    @contextmanager
    def reading(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """A connection for queries of the read model."""
        with self._pool.connection() as conn:
            yield conn


class ReadModel(Protocol):
    """A read model a service process mounts: tables in a :class:`ProjectionStore`."""

    @property
    def store(self) -> ProjectionStore:
        """Where its tables and tracking rows are."""
        ...

    def ddl(self) -> Sequence[Composed]:
        """Statements creating its tables."""
        ...


class MountedReadModels:
    """Every read model of a service process on one connection pool.

    Before, each store opened a pool of its own (up to four in one process, each keeping an
    idle connection); now the stores share one, sized for all of them.
    """

    def __init__(self, database_url: str, read_models: Sequence[ReadModel]) -> None:
        self.read_models = list(read_models)
        self.stores = list({id(m.store): m.store for m in self.read_models}.values())
        self.pool = read_model_pool(
            database_url, max_size=CONNECTIONS_PER_STORE * max(1, len(self.stores))
        )

    def open(self) -> None:
        """Open the pool and create each store's tables, in the order the models were given."""
        if not self.stores:
            return
        self.pool.open(wait=True)
        for store in self.stores:
            store.mount(self.pool)
            store.create([s for m in self.read_models if m.store is store for s in m.ddl()])

    def close(self) -> None:
        """Close the shared pool (after the consumers and loops using it stopped)."""
        if self.stores:
            self.pool.close()
