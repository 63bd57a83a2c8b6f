"""Schema evolution of stored events, shown: a row written by version 1 of an event class is
read by version 2 through its upcast, and upcasting never rewrites history (the stored bytes,
and so the tamper-evidence leaf, stay as they were)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.domain import Aggregate, event
from psycopg.sql import SQL, Identifier

from ring_runtime.settings import load_settings
from ring_runtime.store import RingApplication, create_application


class Parcel(Aggregate):
    """Version 2 of an aggregate whose creation event gained ``weight_grams``."""

    class Registered(Aggregate.Created):
        """Version 1 had only ``label``; version 2 adds the weight (unknown: 0)."""

        label: str
        weight_grams: int
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["weight_grams"] = 0

    @event(Registered)
    def __init__(self, label: str, weight_grams: int) -> None:
        self.label = label
        self.weight_grams = weight_grams


class Parcels(RingApplication):
    """Stores parcels."""


@pytest.fixture
def parcels(postgres_url: str, db_schema: str, tmp_path: Path) -> Iterator[Parcels]:
    environ = {"RING_DATABASE_URL": postgres_url, "RING_DB_SCHEMA": db_schema}
    app = create_application(
        Parcels, load_settings("task", {**environ, "RING_DATA_DIR": str(tmp_path)})
    )
    yield app
    app.close()


def test_a_version_1_row_is_read_as_version_2_and_stays_as_stored(
    parcels: Parcels, postgres_url: str, db_schema: str
) -> None:
    parcel = Parcel("box", 1200)
    parcels.save(parcel)
    table = Identifier(db_schema, "parcels_events")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        row = conn.execute(SQL("SELECT state FROM {}").format(table)).fetchone()
        assert row is not None
        state = json.loads(bytes(row[0]))
        assert state["class_version"] == 2
        # The row as version 1 of the class wrote it: no weight, no class_version.
        del state["weight_grams"], state["class_version"]
        old = json.dumps(state).encode()
        conn.execute(SQL("UPDATE {} SET state = %s").format(table), (old,))

    loaded: Parcel = parcels.repository.get(parcel.id)
    assert (loaded.label, loaded.weight_grams) == ("box", 0)
    with psycopg.connect(postgres_url) as conn:
        after = conn.execute(SQL("SELECT state FROM {}").format(table)).fetchone()
    assert after is not None
    assert bytes(after[0]) == old  # reading upcasts in memory; history is never rewritten
