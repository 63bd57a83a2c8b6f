"""The gateway's PostgreSQL stores: idempotency keys, refresh sessions and unique emails,
under concurrency."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from psycopg import sql
from psycopg_pool import ConnectionPool

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
from ring_gateway.sessions import PostgresRefreshSessions, RefreshTokenReused
from ring_gateway.tokens import InvalidToken, Principal, RefreshClaims
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.testing import settings_for

pytestmark = pytest.mark.integration


@pytest.fixture
def pool(postgres_url: str) -> Iterator[ConnectionPool]:
    pool = ConnectionPool(postgres_url, min_size=1, max_size=10, open=False)
    pool.open(wait=True, timeout=30)
    yield pool
    pool.close()


@pytest.fixture
def store(pool: ConnectionPool, db_schema: str) -> PostgresIdempotencyStore:
    store = PostgresIdempotencyStore(pool, db_schema, timedelta(hours=24))
    store.create_table()
    return store


@pytest.fixture
def sessions(pool: ConnectionPool, db_schema: str) -> PostgresRefreshSessions:
    sessions = PostgresRefreshSessions(pool, db_schema)
    sessions.create_table()
    return sessions


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


def _token(
    family: UUID | None = None, user_id: UUID | None = None, lifetime: timedelta = timedelta(days=1)
) -> RefreshClaims:
    return RefreshClaims(
        token_id=uuid4().hex,
        family=family or uuid4(),
        principal=Principal(user_id=user_id or uuid4(), role=Role.PARTY_A),
        expires_at=datetime.now(UTC) + lifetime,
    )


def _successor(token: RefreshClaims) -> RefreshClaims:
    return _token(token.family, token.principal.user_id)


async def test_refresh_tokens_rotate_once_and_a_replay_revokes_the_family(
    sessions: PostgresRefreshSessions,
) -> None:
    first = _token()
    await sessions.start(first)
    second, third = _successor(first), _successor(first)
    await sessions.rotate(first, second)
    await sessions.rotate(second, third)
    with pytest.raises(RefreshTokenReused):
        await sessions.rotate(first, _successor(first))
    with pytest.raises(InvalidToken) as newest:
        await sessions.rotate(third, _successor(first))
    assert newest.value.code == "invalid_token"
    with pytest.raises(InvalidToken):
        await sessions.rotate(_token(), _token())  # unknown
    expired = _token(lifetime=-timedelta(seconds=1))
    await sessions.start(expired)
    with pytest.raises(InvalidToken) as refused:
        await sessions.rotate(expired, _successor(expired))
    assert refused.value.code == "invalid_token"


async def test_a_token_recorded_after_its_family_was_revoked_is_refused(
    sessions: PostgresRefreshSessions,
) -> None:
    """A refresh racing the family's revocation records its successor unmarked: the family's
    mark on its other tokens still refuses it."""
    first = _token()
    await sessions.start(first)
    await sessions.end(first.family)
    late = _successor(first)
    await sessions.start(late)
    with pytest.raises(InvalidToken) as refused:
        await sessions.rotate(late, _successor(first))
    assert refused.value.code == "invalid_token"


async def test_logout_ends_one_family_or_every_family_of_a_user(
    sessions: PostgresRefreshSessions,
) -> None:
    user = uuid4()
    phone, laptop, tablet = _token(user_id=user), _token(user_id=user), _token(user_id=user)
    someone_else = _token()
    for token in (phone, laptop, tablet, someone_else):
        await sessions.start(token)
    await sessions.end(phone.family)
    with pytest.raises(InvalidToken):
        await sessions.rotate(phone, _successor(phone))
    await sessions.rotate(laptop, _successor(laptop))
    await sessions.end_all(user)
    await sessions.end_all(user)  # idempotent
    with pytest.raises(InvalidToken):
        await sessions.rotate(tablet, _successor(tablet))
    await sessions.rotate(someone_else, _successor(someone_else))


async def test_concurrent_refreshes_with_one_token_succeed_once(
    sessions: PostgresRefreshSessions,
) -> None:
    token = _token()
    await sessions.start(token)
    outcomes = await asyncio.gather(
        *(sessions.rotate(token, _successor(token)) for _ in range(20)), return_exceptions=True
    )
    assert sum(1 for o in outcomes if o is None) == 1
    assert sum(1 for o in outcomes if isinstance(o, RefreshTokenReused)) == 19


async def test_expired_tokens_are_purged_but_a_live_familys_revocation_is_kept(
    sessions: PostgresRefreshSessions, pool: ConnectionPool, db_schema: str
) -> None:
    past = -timedelta(seconds=1)
    expired = _token(lifetime=past)
    revoked_and_expired = _token(lifetime=past)
    marked = _token(lifetime=past)
    live_in_revoked_family = _successor(marked)
    live = _token()
    for token in (expired, revoked_and_expired, marked, live):
        await sessions.start(token)
    await sessions.end(revoked_and_expired.family)
    await sessions.end(marked.family)
    await sessions.start(live_in_revoked_family)  # recorded after the revocation, unmarked

    sessions.purge_expired()

    with pool.connection() as conn:
        rows = conn.execute(
            sql.SQL("SELECT jti FROM {}").format(sql.Identifier(db_schema, "refresh_tokens"))
        ).fetchall()
    assert {jti for (jti,) in rows} == {
        marked.token_id,
        live_in_revoked_family.token_id,
        live.token_id,
    }
    with pytest.raises(InvalidToken):
        await sessions.rotate(live_in_revoked_family, _successor(marked))


def test_concurrent_registrations_of_one_email(gateway_settings: Settings) -> None:
    users = create_application(Users, gateway_settings)
    users.configure(
        PersonalDataCipher(base64.b64decode(base64.b64encode(b"x" * 32))),
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )

    def attempt(_: int) -> str:
        try:
            users.register("Same@Example.com", "a long shared password", Role.PARTY_A, "S")
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
