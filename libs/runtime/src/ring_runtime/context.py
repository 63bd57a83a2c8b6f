"""Correlation, causation and trace context carried from a request or message to its events.

An HTTP request or a consumed message opens a :func:`causing` block; every domain event recorded
inside it is stored with that context (see :mod:`ring_runtime.recorder`), and the outbox relay
puts it in the Kafka headers of the integration event.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import uuid4

import msgspec
from opentelemetry import propagate


class EventContext(msgspec.Struct, frozen=True, kw_only=True):
    """Why an event happened: the conversation it belongs to and what directly caused it."""

    correlation_id: str
    causation_id: str
    traceparent: str | None = None
    #: The caller chose the correlation (a request's ``X-Correlation-ID``). Otherwise — a
    #: made-up one, or a consumed message's — the lifecycle of the aggregate a command acts on
    #: wins (:meth:`ring_runtime.store.RingApplication.lifecycle_of`).
    chosen: bool = False
    #: Who acted, ``"<role>:<user id>"`` as the gateway vouched (None: the service itself, on
    #: a consumed message or a timer).
    actor: str | None = None


_current: contextvars.ContextVar[EventContext | None] = contextvars.ContextVar(
    "ring_event_context", default=None
)


def active_event_context() -> EventContext | None:
    """The context opened by the enclosing :func:`causing` block, if any (for log lines)."""
    return _current.get()


def current_event_context() -> EventContext:
    """The context of the work in progress, or a fresh one when none was opened."""
    found = _current.get()
    if found is not None:
        return found
    new_id = str(uuid4())
    return EventContext(
        correlation_id=new_id, causation_id=new_id, traceparent=current_traceparent()
    )


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the active span, if any."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def causing(
    *,
    correlation_id: str | None,
    causation_id: str,
    traceparent: str | None = None,
    chosen: bool = False,
    actor: str | None = None,
) -> Iterator[EventContext]:
    """Record events in this block as caused by ``causation_id`` within ``correlation_id``
    (``chosen``: the cause named the correlation, see :class:`EventContext`)."""
    context = EventContext(
        correlation_id=correlation_id or causation_id,
        causation_id=causation_id,
        traceparent=traceparent or current_traceparent(),
        chosen=chosen and correlation_id is not None,
        actor=actor,
    )
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)
