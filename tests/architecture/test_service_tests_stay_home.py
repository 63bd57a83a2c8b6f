"""A service's tests test that service; tests across services live in ``tests/e2e``.

A test under ``services/<name>/tests`` that imports another service's package boots (or reaches
into) a second service: it breaks when that service changes, runs with the wrong service's
suite, and hides the cross-service contract among one service's tests. Such tests belong in
``tests/e2e`` (docs/conventions.md). The shared libraries (``ring_runtime``, ``ring_events``,
``ring_contracts``, ``ring_client``…) are not services and may be imported anywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def service_packages() -> dict[str, str]:
    """Each service's package name (``ring_task``…), by service directory (edge ones too)."""
    found: dict[str, str] = {}
    for service in sorted((ROOT / "services").iterdir()):
        if not (service / "pyproject.toml").is_file():
            continue
        (package,) = (p for p in (service / "src").iterdir() if p.name.startswith("ring_"))
        found[service.name] = package.name
    return found


def imported_packages(source: str) -> set[str]:
    """The top-level packages ``source`` imports absolutely (relative imports stay local)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.partition(".")[0])
    return found


def foreign_imports() -> dict[str, set[str]]:
    """Each service test module that imports another service's package, and those packages."""
    packages = service_packages()
    found: dict[str, set[str]] = {}
    for service, own in packages.items():
        others = set(packages.values()) - {own}
        for module in sorted((ROOT / "services" / service / "tests").rglob("*.py")):
            foreign = imported_packages(module.read_text()) & others
            if foreign:
                found[module.relative_to(ROOT).as_posix()] = foreign
    return found


def test_every_service_package_is_known() -> None:
    assert set(service_packages().values()) == {
        "ring_dispute",
        "ring_gateway",
        "ring_ledger",
        "ring_matching",
        "ring_notification",
        "ring_task",
        "ring_voucher",
        "ring_web",
    }


def test_service_tests_import_no_other_service() -> None:
    assert foreign_imports() == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from ring_task.main import create_app", {"ring_task"}),
        ("import ring_voucher.domain as domain", {"ring_voucher"}),
        ("from .conftest import actor", set()),
        ("from ring_runtime.testing import eventually", {"ring_runtime"}),
    ],
)
def test_imports_are_read_from_the_source(source: str, expected: set[str]) -> None:
    assert imported_packages(source) == expected
