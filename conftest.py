"""Fixtures shared by every test in the repository (PostgreSQL, broker, schemas, fault driver)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ring_runtime.testing import wait_service_ports_quiet

pytest_plugins = ["ring_runtime.testing.fixtures"]

ROOT = Path(__file__).resolve().parent


@pytest.fixture
def fault_driver() -> ModuleType:
    """The seeded fault driver (``bench/faults.py``, a script loaded by path), once the service
    ports are free: the ``ring run`` it starts binds them. Shared by the fault suite on Tansu
    (``tests/fault``) and its short schedule on Apache Kafka (``tests/kafka``)."""
    wait_service_ports_quiet()
    spec = importlib.util.spec_from_file_location("ring_bench_faults", ROOT / "bench" / "faults.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
