"""Registration, login, refresh and the caller's profile."""

from __future__ import annotations

import httpx
import pytest

from ring_gateway.application import Users

from .conftest import FakeServices, register


async def test_register_login_and_me(client: httpx.AsyncClient, fakes: FakeServices) -> None:
    user_id, headers = await register(client, "party_b", "Bob@Example.com")
    me = await client.get("/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json() == {
        "id": str(user_id),
        "role": "party_b",
        "email": "bob@example.com",
        "display_name": "X",
        "verification": "pending",
    }
    assert fakes.calls[-1][2] == str(user_id)  # asked matching as the user itself


async def test_party_a_has_no_verification(client: httpx.AsyncClient) -> None:
    _, headers = await register(client, "party_a")
    assert (await client.get("/v1/me", headers=headers)).json()["verification"] == "not_applicable"


async def test_email_is_unique_ignoring_case(client: httpx.AsyncClient) -> None:
    await register(client, "party_a", "dup@example.com")
    again = await client.post(
        "/v1/auth/register",
        json={
            "email": "DUP@example.com",
            "password": "another one",
            "role": "party_b",
            "display_name": "Y",
        },
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "email_taken"


async def test_admin_cannot_register_and_unknown_fields_are_refused(
    client: httpx.AsyncClient,
) -> None:
    body = {"email": "a@example.com", "password": "long enough", "display_name": "A"}
    admin = await client.post("/v1/auth/register", json={**body, "role": "admin"})
    assert admin.status_code == 400
    assert admin.json()["error"]["code"] == "validation_failed"
    extra = await client.post(
        "/v1/auth/register", json={**body, "role": "party_a", "is_admin": True}
    )
    assert extra.status_code == 400


async def test_wrong_password_and_unknown_email_look_the_same(client: httpx.AsyncClient) -> None:
    await register(client, "party_a", "carol@example.com")
    wrong = await client.post(
        "/v1/auth/login", json={"email": "carol@example.com", "password": "nope nope"}
    )
    unknown = await client.post(
        "/v1/auth/login", json={"email": "nobody@example.com", "password": "nope nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"


async def test_login_answers_bearer_tokens_and_refresh_rotates_them(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "party_a", "dan@example.com")
    login = await client.post(
        "/v1/auth/login", json={"email": "dan@example.com", "password": "correct horse"}
    )
    tokens = login.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    refreshed = await client.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert (await client.get("/v1/me", headers=headers)).status_code == 200
    # an access token is not a refresh token, and vice versa
    wrong_kind = await client.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["access_token"]}
    )
    assert wrong_kind.status_code == 401
    as_access = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    assert (await client.get("/v1/me", headers=as_access)).status_code == 401


async def test_personal_data_is_encrypted_at_rest(client: httpx.AsyncClient, users: Users) -> None:
    user_id, _ = await register(client, "party_b", "secret.person@example.com")
    stored = b"".join(item.state for item in users.recorder.select_events(user_id))
    assert b"secret.person" not in stored
    assert b"argon2id" in stored  # the hash, never the password
    assert b"correct horse" not in stored


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password", "at least 10"),
        (" " * 12, "at least 10"),
        ("password123", "most common"),
        ("pass word 1 2 3", "most common"),
        ("aaaaaaaaaaaa", "too easy"),
        ("alice@example.com", "too easy"),
    ],
)
async def test_weak_passwords_are_refused(
    client: httpx.AsyncClient, password: str, why: str
) -> None:
    answer = await client.post(
        "/v1/auth/register",
        json={
            "email": "alice@example.com",
            "password": password,
            "role": "party_a",
            "display_name": "Alice",
        },
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "weak_password"
    assert why in answer.json()["error"]["message"]


async def test_a_taken_email_costs_the_same_hashing_as_a_new_one(
    client: httpx.AsyncClient, users: Users
) -> None:
    """No enumeration by timing: the password is hashed before the address is looked up."""
    hashed: list[str] = []
    real = users.hasher

    class Counting:
        """The real hasher, recording what it was asked to hash."""

        def hash(self, password: str) -> str:
            hashed.append(password)
            return real.hash(password)

    users.hasher = Counting()  # type: ignore[assignment]
    body = {"email": "taken@example.com", "role": "party_a", "display_name": "T"}
    first = await client.post(
        "/v1/auth/register", json={**body, "password": "first of two passwords"}
    )
    assert first.status_code == 201
    again = await client.post("/v1/auth/register", json={**body, "password": "second of two words"})
    assert again.status_code == 409
    assert hashed == ["first of two passwords", "second of two words"]


async def test_anonymous_requests_are_authenticated_before_validated(
    client: httpx.AsyncClient,
) -> None:
    """A bad parameter tells an anonymous caller nothing: 401 first (issue 11, item 14)."""
    wallet = await client.get("/v1/wallet", params={"currency": "not-a-currency", "x": "1"})
    assert wallet.status_code == 401, wallet.text
    board = await client.get("/v1/tasks", params={"limit": 1000, "min_commission": -1})
    assert board.status_code == 401, board.text
    health = await client.get("/health")
    assert health.status_code == 200
    login = await client.post("/v1/auth/login", json={"email": "a@b.c"})
    assert login.status_code == 400  # public routes still validate as before
