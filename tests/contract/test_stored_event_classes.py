"""Every domain event topic a service has stored still names a domain event class.

The event store keeps each event's class path (``module:Aggregate.Name``) as its topic and
finds the class again from it when an aggregate is loaded, so renaming or moving a stored
event class makes every stored event of it unreadable. ``stored_event_topics.json`` lists the
topics each service has ever written and the modules the service imports before it reads its
store (they register old topics with ``register_topic``). Never remove a topic from the list; a
new event class is added to it.
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from types import ModuleType

import pytest
from eventsourcing.domain import BaseAggregate, CanMutateAggregate
from eventsourcing.utils import TopicError, get_topic, resolve_topic

LISTING = Path(__file__).parent / "stored_event_topics.json"
SERVICES: dict[str, dict[str, list[str]]] = json.loads(LISTING.read_text(encoding="utf-8"))


def _modules(service: str) -> list[ModuleType]:
    return [importlib.import_module(name) for name in SERVICES[service]["modules"]]


def _declared_event_classes(module: ModuleType) -> set[type[object]]:
    """The concrete event classes the module's aggregates declare.

    Left out: the base classes the library defines on every aggregate (``Event``, ``Created``),
    recognisable because their first base is not the class the module declared under the same
    name, and abstract bases such as ``Order.Step`` that have subclasses and are never stored.
    """
    found: set[type[object]] = set()
    for aggregate in vars(module).values():
        if not (
            inspect.isclass(aggregate)
            and issubclass(aggregate, BaseAggregate)
            and aggregate.__module__ == module.__name__
        ):
            continue
        for event_class in vars(aggregate).values():
            if (
                inspect.isclass(event_class)
                and issubclass(event_class, CanMutateAggregate)
                and event_class.__bases__[0].__qualname__ == event_class.__qualname__
                and not event_class.__subclasses__()
            ):
                found.add(event_class)
    return found


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_stored_topic_resolves_to_an_event_class(service: str) -> None:
    _modules(service)
    unreadable: list[str] = []
    for topic in SERVICES[service]["topics"]:
        try:
            resolved = resolve_topic(topic)
        except TopicError:
            unreadable.append(topic)
            continue
        if not (inspect.isclass(resolved) and issubclass(resolved, CanMutateAggregate)):
            unreadable.append(topic)
    assert unreadable == [], (
        "stored events of these topics could no longer be read: keep the class's module and "
        "qualified name, or register the old topic (register_topic) for the new class"
    )


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_event_class_is_listed(service: str) -> None:
    listed = set(SERVICES[service]["topics"])
    declared = {
        get_topic(cls) for module in _modules(service) for cls in _declared_event_classes(module)
    }
    assert declared - listed == set(), (
        f"add these new event classes to {LISTING.name}, so a later rename is caught"
    )
