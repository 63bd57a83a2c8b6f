"""What a Ring service declares so the runtime can serve, supervise and deploy it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from litestar import Litestar

from ring_runtime.rebuild import ReadModelFactory
from ring_runtime.relay import EventTranslator
from ring_runtime.settings import Settings
from ring_runtime.store import RingApplication

#: Entry-point group under which every service package registers its :class:`ServiceDefinition`.
SERVICE_ENTRY_POINT_GROUP = "ring.services"


@dataclass(frozen=True)
class ServiceDefinition:
    """A deployable Ring process.

    Attributes:
        name: short name (``task``, ``ledger``…); also the default schema and settings key.
        create_app: builds the process's ASGI app (HTTP API, relay and consumers in its lifespan).
        application_name: class name of its event-sourced application (its tables' prefix).
        translator: how its domain events are published; ``None`` if it publishes none.
        event_log: opens its event-sourced application on given settings, only to read its
            log: how a rebuild of a read model fed from its topic reads the store.
        read_models: the read models ``ring projections rebuild`` can rebuild, by name.
    """

    name: str
    create_app: Callable[[Settings], Litestar]
    application_name: str | None = None
    translator: EventTranslator | None = None
    event_log: Callable[[Settings], RingApplication] | None = None
    read_models: Mapping[str, ReadModelFactory] = field(default_factory=dict)


def service_names() -> list[str]:
    """Names of the services installed in this environment, without importing any of them."""
    return sorted(entry.name for entry in entry_points(group=SERVICE_ENTRY_POINT_GROUP))


def load_service(name: str) -> ServiceDefinition:
    """Import only the service ``name``: one service's code can never break another's process.

    Raises:
        LookupError: no service of that name is installed.
    """
    for entry in entry_points(group=SERVICE_ENTRY_POINT_GROUP, name=name):
        definition = entry.load()
        if not isinstance(definition, ServiceDefinition):
            raise TypeError(f"entry point {entry.name} is not a ServiceDefinition")
        return definition
    known = ", ".join(service_names()) or "none installed"
    raise LookupError(f"unknown service {name!r}; known services: {known}")


def registered_services() -> dict[str, ServiceDefinition]:
    """Every service installed in this environment, imported, by name, in a stable order."""
    return {name: load_service(name) for name in service_names()}
