"""Probes from the OWASP API Top 10 review (issue 11) against the running platform.

Each probe is an attack that worked on the platform before the fixes of decisions 0012 and
0017: a forged identity sent straight to a service, another owner's draft, a provider's private
record, JSON that crashed the parser, JSON under another media type, token answers a cache
may keep, amounts as strings or fractions, a currency that is no money, a schema that promised
less than the server enforced, a task owner taking its own task under a second account.
Every service runs as its own OS process under ``ring run`` (development mode).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest

from ring_runtime.identity import (
    ADMIN,
    ASSERTION_HEADER,
    PARTY_B,
    AssertionSigner,
    new_identity_keys,
)
from ring_runtime.settings import SERVICE_PORTS
from ring_runtime.testing import wait_until

pytestmark = pytest.mark.e2e

GATEWAY = f"http://127.0.0.1:{SERVICE_PORTS['gateway']}"
ROOT = Path(__file__).resolve().parents[2]


def service(name: str) -> str:
    return f"http://127.0.0.1:{SERVICE_PORTS[name]}"


class Party:
    """A registered, signed-in user of the public API."""

    def __init__(self, role: str, email: str | None = None) -> None:
        self.email = email or f"{role}-{uuid4().hex[:8]}@ring.test"
        password = "a long passphrase 42"
        registered = httpx.post(
            f"{GATEWAY}/v1/auth/register",
            json={"email": self.email, "password": password, "role": role, "display_name": "P"},
        )
        assert registered.status_code == 201, registered.text
        self.id = registered.json()["id"]
        login = httpx.post(
            f"{GATEWAY}/v1/auth/login", json={"email": self.email, "password": password}
        )
        assert login.status_code == 200, login.text
        self.client = httpx.Client(
            base_url=GATEWAY,
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
            timeout=15,
        )


def _admin_party(email: str) -> Party:
    """Sign in an admin created with ``ring admin create``."""
    admin = Party.__new__(Party)
    admin.email = email
    login = httpx.post(
        f"{GATEWAY}/v1/auth/login", json={"email": email, "password": "a long passphrase 42"}
    )
    assert login.status_code == 200, login.text
    admin.client = httpx.Client(
        base_url=GATEWAY,
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        timeout=15,
    )
    admin.id = admin.client.get("/v1/me").json()["id"]
    return admin


DRAFT = {
    "title": "Private draft",
    "description": "Not for the board yet",
    "deadline": "2099-01-01T00:00:00Z",
    "commission_minor": 10_000,
    "currency": "CNY",
    "slots": 1,
    "required_skills": ["labeling"],
}


# --- API1/API5: identity and roles at the services themselves --------------------------------


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("ledger", "/internal/totals"),
        ("dispute", "/admin/disputes"),
        ("task", "/internal/analytics"),
    ],
)
def test_a_bare_actor_header_opens_no_service_route(
    platform: dict[str, str], name: str, path: str
) -> None:
    forged = {"X-Ring-Actor": str(uuid4())}
    answer = httpx.get(service(name) + path, headers=forged)
    assert answer.status_code == 401, answer.text


def test_an_assertion_from_another_key_is_refused(platform: dict[str, str]) -> None:
    forger = AssertionSigner(new_identity_keys()[0])
    answer = httpx.get(
        service("ledger") + "/internal/totals",
        headers={ASSERTION_HEADER: forger.sign(uuid4(), ADMIN)},
    )
    assert answer.status_code == 401, answer.text


def test_services_check_roles_even_with_a_genuine_assertion(platform: dict[str, str]) -> None:
    """A party that somehow reached a service directly still cannot use an admin route."""
    from ring_runtime.identity import development_identity_keys

    signer = AssertionSigner(development_identity_keys(platform["RING_DATA_DIR"])[0])
    party = {ASSERTION_HEADER: signer.sign(uuid4(), PARTY_B)}
    resolve = httpx.post(
        service("dispute") + f"/admin/disputes/{uuid4()}/resolve",
        json={"outcome": "release"},
        headers=party,
    )
    assert resolve.status_code == 403, resolve.text
    deposit = httpx.post(
        service("ledger") + "/deposits",
        json={"amount_minor": 10**15, "currency": "CNY"},
        headers={**party, "Idempotency-Key": "probe"},
    )
    assert deposit.status_code == 403, deposit.text


# --- API1/API3: another owner's drafts, a provider's private record --------------------------


def test_another_owner_s_draft_is_not_found(platform: dict[str, str]) -> None:
    owner, stranger = Party("party_a"), Party("party_a")
    created = owner.client.post("/v1/tasks", json=DRAFT)
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    assert owner.client.get(f"/v1/tasks/{task_id}").status_code == 200
    assert stranger.client.get(f"/v1/tasks/{task_id}").status_code == 404
    for status in ("draft", "completed", ""):
        listed = stranger.client.get("/v1/tasks", params={"status": status, "limit": 100})
        assert listed.status_code == 200, listed.text
        assert all(t["owner_id"] != owner.id for t in listed.json()["items"]), status


def test_parties_see_a_provider_s_public_profile_only(platform: dict[str, str]) -> None:
    provider, owner = Party("party_b"), Party("party_a")
    qualified = provider.client.post(
        "/v1/providers/me/qualifications",
        json={"kind": "licence", "reference": "BL-2026-SECRET", "skills": ["labeling"]},
    )
    assert qualified.status_code in (200, 201), qualified.text
    seen = owner.client.get(f"/v1/providers/{provider.id}")
    assert seen.status_code == 200, seen.text
    assert "BL-2026-SECRET" not in seen.text
    assert "earnings" not in seen.text
    assert "decided_by" not in seen.text
    own = provider.client.get(f"/v1/providers/{provider.id}")
    assert "BL-2026-SECRET" in own.text  # the provider itself sees its full record


# --- API4/API8: what the parser and the headers let through ----------------------------------


def test_deeply_nested_json_is_a_400_everywhere(platform: dict[str, str]) -> None:
    body = b'{"email": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    for url in (f"{GATEWAY}/v1/auth/login", service("ledger") + "/payments/webhook"):
        answer = httpx.post(url, content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 400, (url, answer.status_code, answer.text[:200])


def test_json_under_another_media_type_is_a_415(platform: dict[str, str]) -> None:
    answer = httpx.post(
        f"{GATEWAY}/v1/auth/login",
        content=b'{"email": "a@b.c", "password": "x"}',
        headers={"content-type": "text/plain"},
    )
    assert answer.status_code == 415, answer.text
    assert answer.json()["error"]["code"] == "unsupported_media_type"


def test_token_answers_are_not_stored_and_not_sniffed(platform: dict[str, str]) -> None:
    party = Party("party_a")
    login = httpx.post(
        f"{GATEWAY}/v1/auth/login", json={"email": party.email, "password": "a long passphrase 42"}
    )
    assert login.status_code == 200
    assert login.headers["cache-control"] == "no-store"
    assert login.headers["x-content-type-options"] == "nosniff"
    assert login.headers["referrer-policy"] == "no-referrer"


# --- API4/API8: money as the server must read it ---------------------------------------------


def test_amounts_are_json_integers_and_currencies_supported_ones(platform: dict[str, str]) -> None:
    from ring_runtime.identity import PARTY_A, development_identity_keys

    owner = Party("party_a")
    signer = AssertionSigner(development_identity_keys(platform["RING_DATA_DIR"])[0])
    as_owner = {ASSERTION_HEADER: signer.sign(UUID(owner.id), PARTY_A)}

    def deposit(where: str, content: bytes) -> httpx.Response:
        """A deposit through the gateway, or straight to the ledger service as the gateway."""
        headers = {"Idempotency-Key": uuid4().hex, "content-type": "application/json"}
        if where == "gateway":
            return owner.client.post("/v1/wallet/deposits", content=content, headers=headers)
        return httpx.post(
            service("ledger") + "/deposits", content=content, headers={**headers, **as_owner}
        )

    for where in ("gateway", "ledger"):
        for amount in (b'"100"', b"1000.0"):
            answer = deposit(where, b'{"amount_minor": ' + amount + b', "currency": "CNY"}')
            assert answer.status_code == 400, (where, amount, answer.text)
        answer = deposit(where, b'{"amount_minor": 100, "currency": "XXX"}')
        assert answer.status_code == 422, (where, answer.text)
        assert answer.json()["error"]["code"] == "unsupported_currency"
    drafted = owner.client.post("/v1/tasks", json={**DRAFT, "commission_minor": 10_000.0})
    assert drafted.status_code == 400, drafted.text
    assert owner.client.get("/v1/wallet", params={"currency": "CNY"}).json()["available_minor"] == 0


# --- API9: the published schema is what the server enforces ----------------------------------


def test_the_schema_says_what_is_enforced_and_ready_hides_the_topology(
    platform: dict[str, str],
) -> None:
    schema = httpx.get(f"{GATEWAY}/schema/openapi.json").json()
    for path, method in (("/health", "get"), ("/ready", "get"), ("/v1/auth/register", "post")):
        assert schema["paths"][path][method]["security"] == [], path
    assert schema["components"]["schemas"]["MoneyRequest"]["additionalProperties"] is False
    (key,) = [
        p
        for p in schema["paths"]["/v1/wallet/deposits"]["post"]["parameters"]
        if p["name"] == "Idempotency-Key"
    ]
    assert key["required"] is True
    for url in (f"{GATEWAY}/v1/auth/login", service("ledger") + "/deposits"):
        answer = httpx.get(url)
        assert answer.status_code == 405, url
        assert "POST" in answer.headers["allow"], url
    ready = httpx.get(f"{GATEWAY}/ready")
    assert set(ready.json()) == {"status"}, ready.text  # no service names, no store


# --- API6: self-dealing ----------------------------------------------------------------------


def test_a_provider_at_the_owner_s_company_is_flagged_for_admins(platform: dict[str, str]) -> None:
    company = f"acme-{uuid4().hex[:6]}.com"
    admin_email = f"admin-{uuid4().hex[:8]}@ring.test"
    created = subprocess.run(
        [
            str(Path(sys.executable).parent / "ring"),
            "admin",
            "create",
            admin_email,
            "--password-stdin",
        ],
        input="a long passphrase 42\n",
        env=platform,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    admin = _admin_party(admin_email)
    owner, provider = Party("party_a", f"boss@{company}"), Party("party_b", f"staff@{company}")
    deposit = owner.client.post(
        "/v1/wallet/deposits",
        json={"amount_minor": 50_000, "currency": "CNY"},
        headers={"Idempotency-Key": uuid4().hex},
    )
    assert deposit.status_code == 201, deposit.text
    task_id = owner.client.post("/v1/tasks", json=DRAFT).json()["id"]
    wait_until(
        lambda: owner.client.post(f"/v1/tasks/{task_id}/publish").status_code == 202,
        what="publish accepted",
    )
    wait_until(
        lambda: owner.client.get(f"/v1/tasks/{task_id}").json()["status"] == "published",
        what="task published",
    )
    qualified = provider.client.post(
        "/v1/providers/me/qualifications",
        json={"kind": "licence", "reference": "BL-1", "skills": ["labeling"]},
    )
    assert qualified.status_code in (200, 201), qualified.text
    wait_until(
        lambda: admin.client.post(f"/v1/admin/providers/{provider.id}/verify").status_code == 200,
        what="provider verified",
    )
    # One sign (the company's domain): the order goes ahead, and is flagged.
    wait_until(
        lambda: provider.client.post(f"/v1/tasks/{task_id}/orders").status_code == 201,
        what="order taken",
    )
    flags = admin.client.get("/v1/admin/flags", params={"limit": 100})
    assert flags.status_code == 200, flags.text
    (flag,) = [f for f in flags.json()["items"] if f["task_id"] == task_id]
    assert (flag["verdict"], flag["evidence"]) == ("flag", ["shared_email_domain"])
    assert (flag["owner_id"], flag["provider_id"]) == (owner.id, provider.id)
    assert provider.client.get("/v1/admin/flags").status_code == 403


# --- API8: production mode (no platform needed, but kept with its probes) --------------------


def test_a_process_with_the_shipped_compose_settings_refuses_to_start(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "RING_DATA_DIR": str(tmp_path)}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    env |= {"RING_ENV": "production", "RING_HTTP_PORT": "0"}
    started = subprocess.run(
        [sys.executable, "-m", "ring_runtime.commands.serve", "gateway"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "RING_ENV=production refuses to start" in started.stderr
