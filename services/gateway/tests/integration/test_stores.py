"""The gateway's PostgreSQL stores: idempotency keys and unique emails under concurrency."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from uuid import uuid4

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from ring_gateway.application import Users
from ring_gateway.cli import admin
from ring_gateway.domain import EmailTaken, Role
from ring_gateway.idempotency import (
    IdempotencyKeyReused,
    PostgresIdempotencyStore,
    RequestInProgress,
    StoredResponse,
)
from ring_gateway.pii import PersonalDataCipher
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.testing import settings_for

pytestmark = pytest.mark.integration


@pytest.fixture
def store(postgres_url: str, db_schema: str) -> Iterator[PostgresIdempotencyStore]:
    store = PostgresIdempotencyStore(postgres_url, db_schema, timedelta(hours=24))
    store.open()
    yield store
    store.close()


async def test_replay_mismatch_and_in_progress(store: PostgresIdempotencyStore) -> None:
    user, key = uuid4(), "k-1"
    assert await store.begin(user, key, "f1") is None
    with pytest.raises(RequestInProgress):
        await store.begin(user, key, "f1")
    with pytest.raises(IdempotencyKeyReused):
        await store.begin(user, key, "f2")
    answer = StoredResponse(status=201, body=b'{"id": 1}', content_type="application/json")
    await store.complete(user, key, "f1", answer)
    assert await store.begin(user, key, "f1") == answer
    assert await store.begin(uuid4(), key, "f1") is None  # keys are per user


async def test_released_key_may_run_again(store: PostgresIdempotencyStore) -> None:
    user = uuid4()
    assert await store.begin(user, "k", "f") is None
    await store.release(user, "k", "f")
    assert await store.begin(user, "k", "f") is None


async def test_concurrent_duplicates_lease_the_key_once(store: PostgresIdempotencyStore) -> None:
    user = uuid4()
    outcomes = await asyncio.gather(
        *(store.begin(user, "race", "f") for _ in range(100)), return_exceptions=True
    )
    assert sum(1 for o in outcomes if o is None) == 1
    assert all(isinstance(o, RequestInProgress) for o in outcomes if o is not None)


def test_concurrent_registrations_of_one_email(gateway_settings: Settings) -> None:
    users = create_application(Users, gateway_settings)
    users.configure(
        PersonalDataCipher(base64.b64decode(base64.b64encode(b"x" * 32))),
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )

    def attempt(_: int) -> str:
        try:
            users.register("Same@Example.com", "password!!", Role.PARTY_A, "S")
        except EmailTaken:
            return "taken"
        return "created"

    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(attempt, range(8)))
    finally:
        users.close()
    assert results.count("created") == 1
    assert results.count("taken") == 7


def test_ring_admin_create(postgres_url: str, db_schema: str) -> None:
    env = {
        "RING_DATABASE_URL": postgres_url,
        "RING_DB_SCHEMA": db_schema,
        "RING_JWT_SECRET": "integration-test-secret-0123456789abcdef",
        "RING_PII_KEY": base64.b64encode(b"a" * 32).decode(),
    }
    runner = CliRunner()
    args = ["create", "root@example.com", "--password-stdin"]
    created = runner.invoke(admin, args, input="a long admin password\n", env=env)
    assert created.exit_code == 0, created.output
    assert created.output.startswith("created admin root@example.com with id ")
    again = runner.invoke(admin, args, input="a long admin password\n", env=env)
    assert again.exit_code == 1
    assert "root@example.com is already registered" in again.output

    users = create_application(Users, settings_for("gateway", postgres_url, "", db_schema))
    users.configure(PersonalDataCipher(b"a" * 32))
    try:
        user = users.authenticate("ROOT@example.com", "a long admin password")
    finally:
        users.close()
    assert user.role is Role.ADMIN
