"""The seeded fault driver (``bench/faults.py``) on Apache Kafka: a short schedule that kills the
broker among services and PostgreSQL while lifecycles run, on ``ring run`` with
``RING_BROKER=kafka`` (one KRaft node, data on disk, idempotent producer on).

``tests/fault/test_faults.py`` runs the longer schedule on Tansu, where a broker kill loses every
record and the relays republish; here the supervisor restarts the killed node on its own data.
Every invariant of the run must hold (each lifecycle ends where its steps lead, each commission
paid exactly once, escrow matches, no dead letter, nothing left to publish). Six faults keep it
to a few minutes: a Kafka node restarts in seconds where Tansu takes milliseconds.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from ring_runtime.settings import SERVICE_PORTS
from ring_runtime.testing import wait_until
from ring_runtime.testing.sources import kafka_lane

pytestmark = [pytest.mark.e2e, pytest.mark.apache_kafka, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
#: Six faults of this seed include a broker kill and a PostgreSQL stop, besides service kills.
SEED = 28


def _ports_quiet() -> bool:
    for port in SERVICE_PORTS.values():
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
        except httpx.HTTPError:
            continue
        return False
    return True


def _driver() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "ring_bench_faults_kafka", ROOT / "bench" / "faults.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_a_short_fault_schedule_on_apache_kafka_breaks_no_invariant() -> None:
    assert kafka_lane(), "runs in the Kafka lane (RING_TEST_BROKER=kafka)"
    assert os.environ.get("RING_BROKER") == "kafka", "ring run must start Apache Kafka"
    wait_until(_ports_quiet, within=60, what="the service ports free")
    faults = _driver()
    # Not under pytest's tmp_path: other pytest sessions of this user prune old numbered
    # directories, and PostgreSQL's and Kafka's data directories must outlive them.
    with tempfile.TemporaryDirectory(prefix="ring-kafka-faults-", ignore_cleanup_errors=True) as d:
        report = faults.run(SEED, faults=6, clients=3, gap=(2.0, 5.0), data_dir=Path(d))
    print(report.table())
    kinds = [fault for fault, _, _ in report.faults]
    assert "kill -9 broker" in kinds, f"the schedule must kill the broker:\n{report.table()}"
    assert len(kinds) >= 5, report.table()
    assert report.outcomes, report.table()
    assert not report.violations, report.table()
