"""Rebuild a read model from the event log into a scratch schema and compare it with the live one.

A service lists its rebuildable read models in its :class:`~ring_runtime.service.ServiceDefinition`
(``read_models``): each is built by a factory given the service settings and the schema to
write to, so the same code that keeps the live tables builds the copy. :func:`rebuild_and_compare`
builds the copy from the first event, brings both to the *same* log position and diffs them
row by row. Two kinds of read model:

* a :class:`LocalReadModel` follows the service's own log (an :class:`OwnEventsFollower`, one
  position): the copy catches up with the whole log, without any lock (the long part, with
  progress); the live model catches up, then its position row is locked (live readers and the
  live follower wait) at position *H*; the copy catches up to exactly *H*;
* a :class:`TopicReadModel` is fed by exactly-once consumers of context topics (its own
  service's or another's), whose positions are one per upstream aggregate. The copy reads the
  *publishing* service's store through its translator (:class:`PublishedEvents`: the envelopes
  the relay sends, so the broker plays no part) and applies each aggregate's events up to the
  live model's position for that aggregate; then the live tracking table is locked against
  writes (its consumers wait, its readers do not), the copy applies what the live consumers
  applied meanwhile, and stands where the live model stands. Consumers apply different
  aggregates in any relative order, so equal positions per aggregate mean equal tables.

In both cases a second connection then takes a repeatable-read snapshot and the lock is
released; the diff runs in that snapshot, where both models stand at the same place, while the
live system goes on. So the comparison is exact on a live system and the lock is held for
milliseconds, not for the diff. The scratch schema is dropped afterwards unless asked to keep it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import msgspec
import psycopg
from psycopg.rows import dict_row
from psycopg.sql import SQL, Composed, Identifier

from ring_runtime.consumer import ExactlyOnceProcessor
from ring_runtime.local_projection import OwnEventsFollower
from ring_runtime.projection import ProjectionStore
from ring_runtime.relay import PublishedEvents
from ring_runtime.settings import Settings
from ring_runtime.store import RingApplication, create_application
from ring_runtime.timers import DurableTimers, SystemClock

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


@dataclass
class TopicReadModel:
    """A read model fed by exactly-once consumers of context topics.

    Attributes:
        store: where its tables and tracking rows are.
        processors: the consumers that keep it (one per topic it reads).
        tables: names of the tables the events determine (compared by a rebuild).
        statements: statements creating the tables.
        unordered: per table, the columns left out of a comparison because they record the
            order in which the consumers met events of *different* aggregates (a per-party
            sequence number), which no log fixes.
    """

    store: ProjectionStore
    processors: Sequence[ExactlyOnceProcessor]
    tables: Sequence[str]
    statements: Sequence[Composed]
    unordered: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def ddl(self) -> list[Composed]:
        """Statements creating the tables."""
        return list(self.statements)

    def close(self) -> None:
        """Release connections."""
        self.store.close()


#: Builds a read model of the service whose settings are given, writing to the schema named.
ReadModelFactory = Callable[[Settings, str], LocalReadModel | TopicReadModel]
#: The store of the service publishing a topic, read as that topic (:class:`PublishedEvents`).
TopicSource = Callable[[str], PublishedEvents]


class Projection(Protocol):
    """What a read model's own class offers: the statements creating its tables."""

    def ddl(self) -> list[Composed]:
        """Statements creating the tables."""
        ...


class FollowingProjection(Projection, Protocol):
    """A read model class kept by an :class:`OwnEventsFollower` of the service's log."""

    follower: OwnEventsFollower


@dataclass
class FollowedReadModel:
    """A :class:`LocalReadModel` assembled from a read model class and its store."""

    store: ProjectionStore
    follower: OwnEventsFollower
    tables: Sequence[str]
    statements: Sequence[Composed]
    application: RingApplication

    def ddl(self) -> list[Composed]:
        """Statements creating the tables."""
        return list(self.statements)

    def close(self) -> None:
        """Release connections."""
        self.store.close()
        self.application.close()


P = TypeVar("P", bound=Projection)
F = TypeVar("F", bound=FollowingProjection)
A = TypeVar("A", bound=RingApplication)


def topic_read_model(
    store: str,
    tables: Sequence[str],
    projection: Callable[[ProjectionStore], P],
    processors: Callable[[P], Sequence[ExactlyOnceProcessor]],
) -> ReadModelFactory:
    """The factory of a topic-fed read model: ``projection`` built on a :class:`ProjectionStore`
    named ``store`` (as the service wires it), kept by ``processors``, determining ``tables``."""

    def build(settings: Settings, schema: str) -> TopicReadModel:
        kept = ProjectionStore(settings.database_url, schema, store)
        built = projection(kept)
        return TopicReadModel(
            store=kept, processors=processors(built), tables=tables, statements=built.ddl()
        )

    return build


def followed_read_model(
    store: str,
    tables: Sequence[str],
    application: type[A],
    projection: Callable[[ProjectionStore, A], F],
) -> ReadModelFactory:
    """The factory of a read model of the service's own log: ``projection`` built on a
    :class:`ProjectionStore` named ``store`` and the service's ``application`` (which always
    reads the service's own schema; only the tables go to the schema given)."""

    def build(settings: Settings, schema: str) -> FollowedReadModel:
        kept = ProjectionStore(settings.database_url, schema, store)
        log = create_application(application, settings)
        built = projection(kept, log)
        return FollowedReadModel(
            store=kept,
            follower=built.follower,
            tables=tables,
            statements=built.ddl(),
            application=log,
        )

    return build


def scheduling_read_model(
    store: str,
    follower: str,
    tables: Sequence[str],
    application: type[RingApplication],
    build: Callable[[ProjectionStore, DurableTimers], tuple[Projection, Mapping[type[Any], Any]]],
) -> ReadModelFactory:
    """The factory of a read model of the service's own log whose follower (named ``follower``,
    as the service wires it) also schedules durable timers: ``build`` makes the read model and
    the follower's handlers from a :class:`ProjectionStore` named ``store`` and the timers. The
    timers go to the ``timers`` table of the schema given, which is not compared: the live ones
    are fired and removed as time passes."""

    def make(settings: Settings, schema: str) -> FollowedReadModel:
        kept = ProjectionStore(settings.database_url, schema, store)
        log = create_application(application, settings)
        timers = DurableTimers(settings.database_url, schema, SystemClock(), {})
        projection, handlers = build(kept, timers)
        return FollowedReadModel(
            store=kept,
            follower=OwnEventsFollower(follower, log, kept, handlers),
            tables=tables,
            statements=[*projection.ddl(), *timers.ddl()],
            application=log,
        )

    return make


def _no_source(topic: str) -> PublishedEvents:
    raise LookupError(f"no source given for topic {topic!r}")


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
    sources: TopicSource = _no_source,
    measured: Callable[[int], None] = lambda _: None,
    progress: Callable[[int], None] = lambda _: None,
    keep: bool = False,
) -> RebuildReport:
    """Rebuild read model ``name`` into a scratch schema and diff it with the live one.

    ``sources`` gives the publishing store of each topic a :class:`TopicReadModel` reads;
    ``measured`` is told how many stored events the rebuild reads, ``progress`` of every batch.
    """
    scratch = f"rebuild_{uuid.uuid4().hex[:12]}"
    live = factory(settings, settings.db_schema)
    copy = factory(settings, scratch)
    try:
        live.store.open(_ddl(live))
        copy.store.open(_ddl(copy))
        with psycopg.connect(settings.database_url, row_factory=dict_row) as snapshot:
            if isinstance(live, TopicReadModel) and isinstance(copy, TopicReadModel):
                position = _replay_topics(live, copy, snapshot, sources, measured, progress)
            elif not isinstance(live, TopicReadModel) and not isinstance(copy, TopicReadModel):
                position = _follow_log(live, copy, snapshot, settings, measured, progress)
            else:
                raise TypeError(f"{name}: the factory built two kinds of read model")
            rows = {t: _count(snapshot, settings.db_schema, t) for t in live.tables}
            unordered = live.unordered if isinstance(live, TopicReadModel) else {}
            differences = [
                d
                for t in live.tables
                if (d := _diff(snapshot, settings.db_schema, scratch, t, unordered.get(t, ())))
                is not None
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


def _ddl(model: LocalReadModel | TopicReadModel) -> list[Composed]:
    if isinstance(model, TopicReadModel):
        return model.ddl()
    return [*model.follower.ddl(), *model.ddl()]


def _take_snapshot(snapshot: psycopg.Connection[dict[str, Any]]) -> None:
    snapshot.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    snapshot.execute("SELECT 1")  # the snapshot is taken now, under the lock


def _follow_log(
    live: LocalReadModel,
    copy: LocalReadModel,
    snapshot: psycopg.Connection[dict[str, Any]],
    settings: Settings,
    measured: Callable[[int], None],
    progress: Callable[[int], None],
) -> int:
    """Bring the copy of a log-following model to the live one's position and snapshot both;
    returns that position."""
    events = Identifier(settings.db_schema, f"{live.follower.application.name.lower()}_events")
    measured(_count_rows(snapshot, SQL("SELECT count(*) AS n FROM {}").format(events)))
    snapshot.rollback()
    copy.follower.catch_up(progress=progress)
    live.follower.catch_up()
    with live.follower.held() as position:
        copy.follower.catch_up(until=position, progress=progress)
        _take_snapshot(snapshot)
    return position


def _replay_topics(
    live: TopicReadModel,
    copy: TopicReadModel,
    snapshot: psycopg.Connection[dict[str, Any]],
    sources: TopicSource,
    measured: Callable[[int], None],
    progress: Callable[[int], None],
) -> int:
    """Bring the copy of a topic-fed model to the live one's positions and snapshot both;
    returns the highest notification id the live model had applied."""
    prefixes = [p.tracking_prefix for p in live.processors]
    stores = {topic: sources(topic) for topic in {p.topic for p in copy.processors}}
    try:
        measured(sum(store.count() for store in stores.values()))
        before = live.store.positions_under(prefixes)
        _replay(copy.processors, stores, before, progress)
        with live.store.held(prefixes) as held:
            moved = {name for name, position in held.items() if position > before.get(name, 0)}
            _replay(copy.processors, stores, held, lambda _: None, moved)
            _take_snapshot(snapshot)
    finally:
        for store in stores.values():
            store.close()
    return max(held.values(), default=0)


def _replay(
    processors: Sequence[ExactlyOnceProcessor],
    stores: Mapping[str, PublishedEvents],
    until: Mapping[str, int],
    progress: Callable[[int], None],
    only: Collection[str] | None = None,
) -> None:
    """Apply each topic's stored events to the processors reading it, each aggregate's up to
    its position in ``until`` (only the aggregates whose tracking rows are in ``only``, when
    given); a processor skips what it already applied, as it does any redelivery."""
    for topic, store in stores.items():
        readers = [p for p in processors if p.topic == topic]
        aggregates = None
        if only is not None:
            aggregates = {
                name.removeprefix(p.tracking_prefix)
                for p in readers
                for name in only
                if name.startswith(p.tracking_prefix)
            }
            if not aggregates:
                continue
        for batch in store.batches(aggregates):
            for envelope in batch:
                for processor in readers:
                    limit = until.get(processor.tracking_name(envelope.key), 0)
                    if envelope.notification_id <= limit:
                        processor.process(envelope)
            progress(len(batch))


def _count(conn: psycopg.Connection[dict[str, Any]], schema: str, table: str) -> int:
    return _count_rows(conn, SQL("SELECT count(*) AS n FROM {}").format(Identifier(schema, table)))


def _count_rows(conn: psycopg.Connection[dict[str, Any]], query: Composed) -> int:
    row = conn.execute(query).fetchone()
    return int(row["n"]) if row else 0


def _diff(
    conn: psycopg.Connection[dict[str, Any]],
    live: str,
    scratch: str,
    table: str,
    left_out: Sequence[str] = (),
) -> TableDifference | None:
    """Rows (as JSON, so any column type compares, less the columns ``left_out``) present on
    one side only, with counts."""

    def only(left: str, right: str) -> tuple[int, list[dict[str, Any]]]:
        query = SQL(
            "WITH d AS (SELECT to_jsonb(a) - %(out)s::text[] AS r FROM {} a EXCEPT ALL "
            "SELECT to_jsonb(b) - %(out)s::text[] FROM {} b) "
            "SELECT r, count(*) OVER () AS n FROM d LIMIT %(shown)s"
        ).format(Identifier(left, table), Identifier(right, table))
        found = conn.execute(query, {"out": list(left_out), "shown": SHOWN}).fetchall()
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
