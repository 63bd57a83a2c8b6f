"""Fixtures shared by every test in the repository (PostgreSQL, broker, schemas)."""

from pathlib import Path

import pytest

pytest_plugins = ["ring_runtime.testing.fixtures"]

#: Every test under these directories also runs in the Kafka lane (`make kafka-test`).
KAFKA_LANE_DIRECTORIES = (Path(__file__).parent / "tests" / "fault",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the fault suite for the Kafka lane (its modules need not know about lanes)."""
    for item in items:
        if any(item.path.is_relative_to(d) for d in KAFKA_LANE_DIRECTORIES):
            item.add_marker(pytest.mark.kafka_lane)
