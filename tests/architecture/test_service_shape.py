"""Every business service has the same module set (docs/conventions.md, decision 0022).

A newcomer who knows one service finds the same things in the same places in every other:
its rules in ``domain``, its commands in ``application``, its HTTP edge in ``api``, every
subscription in ``consumers``, its read models in ``projections``, its public events in
``integration``, its environment in ``config`` and its wiring in ``main``. A module may be a
package (``domain/``) once it grows; other modules may be added next to these.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: The module set of a service package.
SHAPE = (
    "domain",
    "application",
    "api",
    "consumers",
    "projections",
    "integration",
    "config",
    "main",
)

#: Processes at the edge, outside the shape: the gateway (authentication, routing; it holds no
#: context's rules and subscribes to nothing) and the web app (pages over the gateway's API).
EDGE = frozenset({"gateway", "web"})


def missing_modules(package: Path) -> list[str]:
    """The modules of :data:`SHAPE` that ``package`` has neither as a module nor a package."""
    return [
        name
        for name in SHAPE
        if not (package / f"{name}.py").is_file() and not (package / name / "__init__.py").is_file()
    ]


def service_packages() -> dict[str, Path]:
    """Each business service's package (``services/<name>/src/ring_<x>``), by service dir."""
    found: dict[str, Path] = {}
    for service in sorted((ROOT / "services").iterdir()):
        if service.name in EDGE or not (service / "pyproject.toml").is_file():
            continue
        (package,) = (p for p in (service / "src").iterdir() if p.name.startswith("ring_"))
        found[service.name] = package
    return found


def test_the_business_services_are_all_checked() -> None:
    assert set(service_packages()) == {
        "dispute-service",
        "ledger-service",
        "matching-service",
        "notification-service",
        "task-service",
        "voucher-service",
    }


@pytest.mark.parametrize("service", sorted(service_packages()))
def test_every_service_has_the_module_set(service: str) -> None:
    assert missing_modules(service_packages()[service]) == []


def test_a_service_without_one_of_the_modules_is_caught(tmp_path: Path) -> None:
    package = tmp_path / "ring_example"
    (package / "domain").mkdir(parents=True)
    (package / "domain" / "__init__.py").write_text("")
    for name in SHAPE:
        if name not in ("domain", "consumers"):
            (package / f"{name}.py").write_text("")
    assert missing_modules(package) == ["consumers"]
