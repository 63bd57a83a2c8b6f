"""Event-store wiring: an ``eventsourcing`` Application on PostgreSQL, one schema per service.

A :class:`RingApplication` records domain events with a *process recorder*, so the events a
consumer causes and the consumer's tracking position commit in one transaction: the consumer
opens a :class:`~ring_runtime.unit_of_work.UnitOfWork` per message
(:meth:`RingApplication.unit_of_work`), its handler passes it to a command, and the command's
save (``save(..., unit=unit)``) records the unit's tracking with its events.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol, MutableOrImmutableAggregate
from eventsourcing.persistence import ProcessRecorder, Recording, Tracking
from opentelemetry import trace
from psycopg import sql

from ring_runtime.context import causing, current_event_context
from ring_runtime.long_poll import Changes
from ring_runtime.recorder import RingProcessRecorder
from ring_runtime.settings import DEFAULT_CURRENCIES, Settings, supported_currencies
from ring_runtime.unit_of_work import UnitOfWork

TApplication = TypeVar("TApplication", bound="RingApplication")
_tracer = trace.get_tracer("ring.store")


class RingApplication(Application[UUID]):
    """Base of every service application: a process recorder, and saves that record a consumed
    message's tracking when given its unit of work."""

    #: Told of every save, to wake long-polls (set by the process wiring).
    changes: Changes | None = None

    @property
    def currencies(self) -> frozenset[str]:
        """Currencies money may enter in (``RING_CURRENCIES``; checked at start-up)."""
        return supported_currencies(self.env.get("RING_CURRENCIES") or DEFAULT_CURRENCIES)

    def construct_recorder(self) -> ProcessRecorder:
        """Record events with a process recorder so tracking can commit with them."""
        return self.factory.process_recorder()

    @property
    def process_recorder(self) -> ProcessRecorder:
        """The recorder, typed as the process recorder it is."""
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder

    def lifecycle_of(self, obj: Any) -> UUID | None:
        """The aggregate whose lifecycle ``obj`` belongs to (e.g. an order's task), or None.

        Unless a request named its correlation (``X-Correlation-ID``), a command — from a
        request, a consumed message or a timer — records its events under the correlation of
        that aggregate's first event, so a business transaction keeps one correlation id from
        its first command to its last. Shared aggregates (a platform account) must answer
        None. Default: None.
        """
        return None

    def save(
        self,
        *objs: MutableOrImmutableAggregate[UUID] | DomainEventProtocol[UUID] | None,
        unit: UnitOfWork | None = None,
        **kwargs: Any,
    ) -> list[Recording[UUID]]:
        """Save pending events; given a consumed message's ``unit``, commit its tracking with them.

        Events join the lifecycle of what they act on (:meth:`lifecycle_of`) unless the cause
        chose a correlation. Each save is a span (``<Application> save``), the parent of the
        events' publish.

        Raises:
            UnitAlreadySaved: ``unit`` was already saved through (a handler saves once).
        """
        with _tracer.start_as_current_span(f"{self.name} save") as span:
            recordings = self._save_in_lifecycle(objs, unit, kwargs)
            span.set_attribute("ring.events", len(recordings))
            return recordings

    def _save_in_lifecycle(
        self,
        objs: Sequence[MutableOrImmutableAggregate[UUID] | DomainEventProtocol[UUID] | None],
        unit: UnitOfWork | None,
        kwargs: dict[str, Any],
    ) -> list[Recording[UUID]]:
        context = current_event_context()
        if not context.chosen:
            lifecycle = self._lifecycle_correlation(objs)
            if lifecycle is not None:
                with causing(
                    correlation_id=lifecycle,
                    causation_id=context.causation_id,
                    traceparent=context.traceparent,
                    chosen=True,
                    actor=context.actor,
                ):
                    return self._save(objs, unit, kwargs)
        return self._save(objs, unit, kwargs)

    def lifecycle_correlation(self, obj: Any) -> str | None:
        """The correlation id of the lifecycle ``obj`` belongs to, or None (a new one starts).

        Default: the correlation of the first event of :meth:`lifecycle_of` in this store. A
        service whose aggregates join a lifecycle begun in another service (a voucher or a
        dispute joins its order's task) answers from what it learnt of that lifecycle — the
        ``correlation_id`` header of the owner's topic.
        """
        recorder = self.recorder
        lifecycle = self.lifecycle_of(obj)
        if lifecycle is None or not isinstance(recorder, RingProcessRecorder):
            return None
        return recorder.first_correlation(lifecycle)

    def _lifecycle_correlation(self, objs: Sequence[Any]) -> str | None:
        for obj in objs:
            found = self.lifecycle_correlation(obj) if obj is not None else None
            if found is not None:
                return found
        return None

    def _save(
        self,
        objs: Sequence[MutableOrImmutableAggregate[UUID] | DomainEventProtocol[UUID] | None],
        unit: UnitOfWork | None,
        kwargs: dict[str, Any],
    ) -> list[Recording[UUID]]:
        if unit is None:
            return super().save(*objs, **kwargs)
        # Not ``super().save(*objs, tracking=...)``: eventsourcing 9.5 passes both the processing
        # event's tracking (None) and the save's keywords to ``events.put`` as ``tracking=``, a
        # TypeError. So the steps of ``Application.save`` are taken here with a ProcessingEvent
        # that carries the tracking (decision 0022, session 10).
        with unit.saving() as tracking:
            processing_event: ProcessingEvent[UUID] = ProcessingEvent(tracking=tracking)
            processing_event.collect_events(*objs, **kwargs)
            recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        """Wake the long-polls waiting on the saved aggregates."""
        super()._notify(recordings)
        if self.changes is not None:
            self.changes.saved({r.domain_event.originator_id for r in recordings})

    @contextmanager
    def unit_of_work(self, tracking: Tracking) -> Iterator[UnitOfWork]:
        """The unit of work of the message at ``tracking``: the first save through it records the
        tracking with its events. When the block saved nothing, the position is recorded on
        its own; when it raised, nothing is.
        """
        unit = UnitOfWork(tracking)
        yield unit
        if not unit.saved:
            self.advance(tracking)

    def advance(self, tracking: Tracking) -> None:
        """Record ``tracking`` alone, for a message without effect: one autocommit statement
        rather than ``BEGIN``, ``INSERT``, ``COMMIT``.

        Raises:
            IntegrityError: ``tracking`` does not advance the recorded position.
        """
        recorder = self.process_recorder
        if isinstance(recorder, RingProcessRecorder):
            recorder.advance(tracking)
        else:
            recorder.insert_tracking(tracking)

    def position(self, tracking_name: str) -> int:
        """Last recorded position under ``tracking_name`` (0 when none)."""
        return self.process_recorder.max_tracking_id(tracking_name) or 0

    def latest_position(self, prefix: str) -> int:
        """The highest position recorded under any tracking name starting with ``prefix``."""
        recorder = self.process_recorder
        if isinstance(recorder, RingProcessRecorder):
            return recorder.max_tracking_id_under(prefix)
        return 0

    def positions(self, tracking_names: Sequence[str]) -> dict[str, int]:
        """Last recorded position of each name that has one, in one round trip."""
        recorder = self.process_recorder
        if isinstance(recorder, RingProcessRecorder):
            return recorder.max_tracking_ids(tracking_names)
        return {name: self.position(name) for name in tracking_names}


def create_application(cls: type[TApplication], settings: Settings) -> TApplication:
    """Construct ``cls`` on the service's PostgreSQL schema, creating the schema if needed."""
    ensure_schema(settings.database_url, settings.db_schema)
    return cls(env=settings.eventsourcing_env())


def create_schema_sql(schema: str) -> sql.Composed:
    """A statement creating ``schema`` only if it is missing.

    Not ``CREATE SCHEMA IF NOT EXISTS``: PostgreSQL checks the database-level CREATE privilege
    before it looks for the schema, and in production each service's role owns its schema but
    may not create any (docs/deploy.md), so that statement would fail even when nothing is to do.
    """
    return sql.SQL(
        "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = {}) "
        "THEN CREATE SCHEMA {}; END IF; END$$"
    ).format(sql.Literal(schema), sql.Identifier(schema))


def ensure_schema(database_url: str, schema: str) -> None:
    """Create ``schema`` if it does not exist."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(create_schema_sql(schema))
