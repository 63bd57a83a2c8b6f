"""Cross-service trails (:func:`ring_runtime.audit.gather_trail`) and ``ring audit trail``."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import pytest
from click.testing import CliRunner

from ring_runtime.audit import gather_trail
from ring_runtime.commands import audit as audit_command

TASK, ORDER, ACCOUNT = str(uuid4()), str(uuid4()), str(uuid4())


def _event(
    service: str, aggregate: str, version: int, at: str, correlation: str, **state: Any
) -> dict[str, Any]:
    return {
        "service": service,
        "aggregate_id": aggregate,
        "version": version,
        "name": f"E{version}",
        "timestamp": f"2026-11-30T10:00:{at}Z",
        "notification_id": version,
        "correlation_id": correlation,
        "causation_id": "c",
        "state": state,
    }


#: publish (c-publish): the task, then the ledger's escrow; take (c-take): an order naming the
#: task; approve (c-approve): only on the order, then the ledger pays (an account).
STORE = [
    _event("task", TASK, 1, "01", "c-create"),
    _event("task", TASK, 2, "02", "c-publish"),
    _event("ledger", ACCOUNT, 7, "03", "c-publish"),
    _event("task", TASK, 3, "04", "c-take"),
    _event("task", ORDER, 1, "04", "c-take", task_id=TASK),
    _event("task", ORDER, 2, "06", "c-approve", task_id=TASK),
    _event("ledger", ACCOUNT, 8, "07", "c-approve"),
    _event("ledger", ACCOUNT, 9, "08", "c-unrelated"),
]
for position, stored in enumerate(STORE, start=1):  # each service's notification order
    stored["notification_id"] = position


async def _ask_all(path: str, params: dict[str, str]) -> list[Any]:
    if path == "/internal/audit/correlations":
        ids = set(params["ids"].split(","))
        return [{"events": [e for e in STORE if e["correlation_id"] in ids]}]
    aggregate = path.rsplit("/", 1)[-1]
    found = [e for e in STORE if e["aggregate_id"] == aggregate]
    return [{"events": found}] if found else []


def test_a_task_trail_follows_its_orders_and_keeps_time_order() -> None:
    trail = asyncio.run(gather_trail(TASK, _ask_all))
    assert trail is not None
    assert set(trail["correlation_ids"]) == {TASK, "c-approve", "c-create", "c-publish", "c-take"}
    assert [(e["aggregate_id"], e["version"]) for e in trail["events"]] == [
        (TASK, 1),
        (TASK, 2),
        (ACCOUNT, 7),
        (TASK, 3),
        (ORDER, 1),
        (ORDER, 2),
        (ACCOUNT, 8),
    ]  # the unrelated posting on the busy account stays out


def test_a_correlation_trail_and_nothing() -> None:
    trail = asyncio.run(gather_trail("c-approve", _ask_all))
    assert trail is not None
    assert [e["version"] for e in trail["events"]] == [2, 8]
    assert asyncio.run(gather_trail("never-seen", _ask_all)) is None


def test_ring_audit_trail_prints_one_line_per_event(monkeypatch: pytest.MonkeyPatch) -> None:
    async def gather(trail_id: str, urls: dict[str, str]) -> dict[str, Any] | None:
        return await gather_trail(trail_id, _ask_all)

    monkeypatch.setattr(audit_command, "_gather", gather)
    result = CliRunner().invoke(audit_command.audit, ["trail", "c-publish"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "trail c-publish: 2 event(s)"
    assert "ledger" in lines[2]
    assert "correlation=c-publish" in lines[2]
    missing = CliRunner().invoke(audit_command.audit, ["trail", "never-seen"])
    assert missing.exit_code == 1
