"""Unit-test fixtures: a Ledger on the in-memory (POPO) event store."""

from __future__ import annotations

import pytest

from ring_ledger.application import Ledger

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def make_ledger(**env: str) -> Ledger:
    """A fresh Ledger on the in-memory event store."""
    return Ledger(env={**POPO, **env})


@pytest.fixture
def ledger() -> Ledger:
    """A fresh, empty ledger."""
    return make_ledger()
