"""Base type of every public integration event, and the value types events share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

import msgspec

#: ISO 4217 alphabetic currency code, e.g. ``"CNY"``.
Currency = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$", examples=["CNY"])]
#: A non-negative amount of money in the currency's minor unit (fen, cents): never a float.
MinorUnits = Annotated[int, msgspec.Meta(ge=0)]
#: A whole percentage from 0 to 100.
Percent = Annotated[int, msgspec.Meta(ge=0, le=100)]
#: A count of one or more.
PositiveCount = Annotated[int, msgspec.Meta(ge=1)]
#: A timezone-aware instant.
Instant = Annotated[datetime, msgspec.Meta(tz=True)]
#: Id of an aggregate or of a party (a user).
Id = UUID
#: Turns the JSON fields of an older version of an event (without its ``type`` tag) into the
#: fields of the version that declares it.
Upcast = Callable[[dict[str, Any]], dict[str, Any]]


class IntegrationEvent(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """A public fact one context tells the others; JSON with a stable ``type`` tag.

    Subclasses declare an explicit tag ``"<context>.<past_tense>.v<N>"``. Evolve them only by
    adding fields with defaults; a breaking change is a new ``...V2`` type with a new tag. When
    the new type replaces the old one on its topic, it names in :attr:`upcasts` every older tag
    still found on the topic, with the function turning such a message's fields into its own:
    a reader meeting an old message upcasts it (:func:`ring_events.envelope.decode_envelope`)
    and handles the current type only — history on the topic is never rewritten.
    """

    #: Older type tags this event is read from, each with its :data:`Upcast`.
    upcasts: ClassVar[Mapping[str, Upcast]] = {}

    occurred_at: Instant


def event_type(event: IntegrationEvent) -> str:
    """The ``type`` tag of ``event``."""
    tag = type(event).__struct_config__.tag
    if not isinstance(tag, str):
        raise TypeError(f"{type(event).__name__} has no string tag")
    return tag
