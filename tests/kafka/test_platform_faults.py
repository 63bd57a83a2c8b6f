"""The seeded fault driver (``bench/faults.py``) on Apache Kafka: a short schedule that kills the
broker among services and PostgreSQL while lifecycles run, on ``ring run`` with
``RING_BROKER=kafka`` (one KRaft node, data on disk, idempotent producer on).

``tests/fault/test_faults.py`` runs the longer schedule on Tansu, where a broker kill loses every
record and the relays republish; here the supervisor restarts the killed node on its own data.
Every invariant of the run must hold (each lifecycle ends where its steps lead, each commission
paid exactly once, escrow matches, no dead letter, nothing left to publish).

Four faults, each one the Kafka side has to survive differently from Tansu: the broker killed
(restarted on its data: nothing to republish), the task service killed (the relay's idempotent
producer starts again with a new producer id; its consumers rejoin their groups), PostgreSQL
stopped and its backends killed (relays and consumers wait it out and resume from the offsets
Kafka kept). Kills of the other services prove nothing broker-specific; the long schedule on
Tansu has them. Each fault costs about 10 to 35 s here, so four keep the lane short.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

from ring_runtime.testing.sources import kafka_lane

pytestmark = [pytest.mark.e2e, pytest.mark.apache_kafka, pytest.mark.timeout(900)]

#: The first four faults of this seed: kill -9 of PostgreSQL backends, of the task service, a
#: PostgreSQL stop, kill -9 of the broker.
SEED = 189
FAULTS = 4


def test_a_short_fault_schedule_on_apache_kafka_breaks_no_invariant(
    fault_driver: ModuleType,
) -> None:
    assert kafka_lane(), "runs in the Kafka lane (RING_TEST_BROKER=kafka)"
    assert os.environ.get("RING_BROKER") == "kafka", "ring run must start Apache Kafka"
    # Not under pytest's tmp_path: other pytest sessions of this user prune old numbered
    # directories, and PostgreSQL's and Kafka's data directories must outlive them.
    with tempfile.TemporaryDirectory(prefix="ring-kafka-faults-", ignore_cleanup_errors=True) as d:
        report = fault_driver.run(SEED, faults=FAULTS, clients=3, gap=(2.0, 5.0), data_dir=Path(d))
    print(report.table())
    kinds = [fault[0] for fault in report.faults]
    assert "kill -9 broker" in kinds, f"the schedule must kill the broker:\n{report.table()}"
    assert len(kinds) == FAULTS, f"a fault was skipped (its target not running):\n{report.table()}"
    assert report.outcomes, report.table()
    assert not report.violations, report.table()
