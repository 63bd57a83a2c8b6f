"""Fixtures of the ledger tests that boot the task service too: both services in-process on
their own schemas, one broker (cross-service tests live under tests/e2e, docs/conventions.md).

The task service drives the ledger the way production does (publish → funding, approval →
settlement, cancellation → release). After every test the ledger is audited: the ``ledger``
fixture's :meth:`Ledger.check` must find no violation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from httpx import AsyncClient
from litestar.testing import AsyncTestClient
from psycopg import sql

from ring_ledger.application import Ledger
from ring_ledger.main import create_app as create_ledger_app
from ring_runtime.identity import ADMIN, PARTY_A, PARTY_B
from ring_runtime.settings import Settings
from ring_runtime.testing import actor_headers
from ring_task.main import create_app as create_task_app


@pytest.fixture(autouse=True)
def audited(ledger: Ledger) -> None:
    """Every ledger test ends with ``ledger check`` clean (the ``ledger`` fixture asserts it)."""


@pytest.fixture
async def services(
    ledger_settings: Settings, task_settings: Settings
) -> AsyncIterator[tuple[AsyncClient, AsyncClient]]:
    """``(ledger, task)`` HTTP clients of both services running in-process."""
    async with (
        AsyncTestClient(create_ledger_app(ledger_settings)) as ledger,
        AsyncTestClient(create_task_app(task_settings)) as tasks,
    ):
        yield ledger, tasks


def actor(user_id: UUID, role: str = PARTY_A) -> dict[str, str]:
    """Headers of a request made by ``user_id`` acting as ``role`` (the gateway's assertion)."""
    return actor_headers(user_id, role)


def new_task(**overrides: Any) -> dict[str, Any]:
    """A task draft: 10 000 fen per slot (the default 5 % fee makes 10 500 per slot)."""
    body: dict[str, Any] = {
        "title": "Label street images",
        "deadline": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "commission_minor": 10_000,
        "currency": "CNY",
        "slots": 1,
    }
    body.update(overrides)
    return body


async def deposit(ledger: AsyncClient, party: UUID, amount_minor: int) -> None:
    """Deposit through the simulated provider (confirmed at once)."""
    response = await ledger.post(
        "/deposits",
        json={"amount_minor": amount_minor, "currency": "CNY"},
        headers={**actor(party), "Idempotency-Key": f"seed-{uuid4()}"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "confirmed"


async def wallet(ledger: AsyncClient, party: UUID) -> tuple[int, int]:
    """``(available, reserved)`` of ``party`` in CNY."""
    response = await ledger.get(
        f"/wallets/{party}", params={"currency": "CNY"}, headers=actor(party)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return body["available_minor"], body["reserved_minor"]


async def create_and_publish(tasks: AsyncClient, owner: UUID, **overrides: Any) -> str:
    """Draft a task and ask to publish it; returns its id."""
    created = await tasks.post("/tasks", json=new_task(**overrides), headers=actor(owner))
    assert created.status_code == 201, created.text
    task_id: str = created.json()["id"]
    published = await tasks.post(f"/tasks/{task_id}/publish", headers=actor(owner))
    assert published.status_code == 202, published.text
    return task_id


async def task_status(tasks: AsyncClient, task_id: str, *wanted: str) -> dict[str, Any] | None:
    """The task if its status is one of ``wanted``, else None."""
    body: dict[str, Any] = (
        await tasks.get(f"/tasks/{task_id}", headers=actor(uuid4(), ADMIN))
    ).json()
    return body if body["status"] in wanted else None


async def approved_order(tasks: AsyncClient, task_id: str, owner: UUID, provider: UUID) -> str:
    """A provider takes a slot and hands in; the owner approves. Returns the order id."""
    taken = await tasks.post(f"/tasks/{task_id}/orders", headers=actor(provider, PARTY_B))
    assert taken.status_code == 201, taken.text
    order_id: str = taken.json()["id"]
    submitted = await tasks.post(
        f"/orders/{order_id}/submission", json={}, headers=actor(provider, PARTY_B)
    )
    assert submitted.status_code == 200, submitted.text
    approved = await tasks.post(f"/orders/{order_id}/approval", headers=actor(owner))
    assert approved.status_code == 200, approved.text
    return order_id


@pytest.fixture
def verify_provider(postgres_url: str, task_settings: Settings) -> Callable[[UUID], None]:
    """Mark a provider verified in the task service's standing read model.

    Stands in for the matching service's ``provider verified`` event, which is not under test.
    """

    def verify(provider_id: UUID) -> None:
        table = sql.Identifier(task_settings.db_schema, "provider_standing")
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (provider_id, verification) VALUES (%s, 'verified')"
                ).format(table),
                (provider_id,),
            )

    return verify
