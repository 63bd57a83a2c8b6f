"""No stale refusals (guarantee 7, decision 0009) on the whole platform, at zero think time.

Every step is sent right after the previous acknowledgement and never retried: an admin verifies
a provider and the provider takes an order at once (the task service judges it on its copy of
matching's events); the provider uploads a voucher right after the take (the voucher service
judges it on its copy of the task events); A approves and waits for ``settled`` with the
long-poll. Several clients run at once. Then: with the broker paused (no consumer can make
progress), a dependent command gets ``503 catching_up`` with ``Retry-After``, never a false
refusal, and succeeds once the broker is back.
"""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

import httpx
import pytest
from PIL import Image

from ring_runtime.settings import SERVICE_PORTS
from ring_runtime.testing import admin_create

pytestmark = pytest.mark.e2e

GATEWAY = f"http://127.0.0.1:{SERVICE_PORTS['gateway']}"
PASSWORD = "correct horse 9!"
COMMISSION = 2_000
CLIENTS = 4
LIFECYCLES_PER_CLIENT = 3


class Party:
    """A signed-in user of the public API (no retries anywhere)."""

    def __init__(self, role: str, email: str | None = None) -> None:
        self.email = email or f"{role}-{uuid4().hex[:8]}@ring.test"
        if role != "admin":
            body = {"email": self.email, "password": PASSWORD, "role": role, "display_name": role}
            answer = httpx.post(f"{GATEWAY}/v1/auth/register", json=body, timeout=60)
            assert answer.status_code == 201, answer.text
        login = httpx.post(
            f"{GATEWAY}/v1/auth/login", json={"email": self.email, "password": PASSWORD}, timeout=60
        )
        assert login.status_code == 200, login.text
        self.client = httpx.Client(
            base_url=GATEWAY,
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
            timeout=30,
        )
        self.id = self.client.get("/v1/me").json()["id"]

    def expect(self, status: int, method: str, path: str, **kwargs: Any) -> Any:
        """One request that must answer ``status`` the first time."""
        answer = self.client.request(method, path, **kwargs)
        assert answer.status_code == status, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json()

    def wait_for(self, path: str, status: str, within: float = 30.0) -> dict[str, Any]:
        """Long-poll ``path`` until its ``status`` is ``status``."""
        deadline = time.monotonic() + within
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"{path} not {status} within {within} s"
            params = {"wait_for": f"status:{status}", "timeout": f"{min(left, 10):.1f}"}
            found = self.expect(200, "GET", path, params=params, timeout=min(left, 10) + 10)
            if found["status"] == status:
                return found  # type: ignore[no-any-return]


def png(seed: int) -> bytes:
    """A small distinct PNG (no duplicate flags)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (16, 16))
    image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256))] * 256)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def admin(platform: dict[str, str]) -> Party:
    email = f"admin-{uuid4().hex[:8]}@ring.test"
    admin_create(platform, email, PASSWORD)
    return Party("admin", email)


def funded_party_a(amount: int) -> Party:
    a = Party("party_a")
    a.expect(
        201,
        "POST",
        "/v1/wallet/deposits",
        json={"amount_minor": amount, "currency": "CNY"},
        headers={"Idempotency-Key": str(uuid4())},
    )
    return a


def qualified_party_b() -> Party:
    b = Party("party_b")
    b.expect(
        201,
        "POST",
        "/v1/providers/me/qualifications",
        json={"kind": "certificate", "reference": "CERT-1", "skills": ["labeling"]},
    )
    return b


def published_task(a: Party) -> str:
    task = {
        "title": "Label street images",
        "description": "Boxes around every car",
        "deadline": "2031-01-01T00:00:00Z",
        "commission_minor": COMMISSION,
        "currency": "CNY",
        "slots": 1,
        "required_skills": ["labeling"],
    }
    task_id: str = a.expect(201, "POST", "/v1/tasks", json=task)["id"]
    a.expect(202, "POST", f"/v1/tasks/{task_id}/publish")
    a.wait_for(f"/v1/tasks/{task_id}", "published")
    return task_id


def lifecycle(admin: Party, a: Party, seed: int) -> None:
    """Verify → take → upload → approve → settled, each step at once, nothing retried."""
    b = qualified_party_b()
    task_id = published_task(a)
    admin.expect(200, "POST", f"/v1/admin/providers/{b.id}/verify")
    order_id = b.expect(201, "POST", f"/v1/tasks/{task_id}/orders")["id"]
    files = {"files": (f"proof-{seed}.png", png(seed), "image/png")}
    voucher = b.expect(
        201, "POST", f"/v1/orders/{order_id}/vouchers", files=files, data={"note": "done"}
    )
    a.expect(200, "POST", f"/v1/vouchers/{voucher['id']}/approve")
    settled = a.wait_for(f"/v1/orders/{order_id}", "settled")
    assert settled["status"] == "settled"


@pytest.mark.timeout(900)  # 16 sign-ups hash passwords (argon2) on a shared machine
def test_concurrent_lifecycles_at_zero_think_time_are_never_refused(
    platform: dict[str, str], admin: Party
) -> None:
    def client(number: int) -> None:
        a = funded_party_a(10 * COMMISSION)
        for seed in range(LIFECYCLES_PER_CLIENT):
            lifecycle(admin, a, number * LIFECYCLES_PER_CLIENT + seed)

    with ThreadPoolExecutor(CLIENTS) as pool:
        runs = [pool.submit(client, number) for number in range(CLIENTS)]
        failures = [str(e) for run in runs if (e := run.exception()) is not None]
    assert failures == [], "\n".join(failures)


def test_every_acknowledged_write_is_read_back_at_once(admin: Party) -> None:
    a = funded_party_a(10 * COMMISSION)
    wallet = a.expect(200, "GET", "/v1/wallet", params={"currency": "CNY"})
    assert wallet["available_minor"] == 10 * COMMISSION
    task = {
        "title": "Count birds",
        "description": "In 20 photos",
        "deadline": "2031-01-01T00:00:00Z",
        "commission_minor": COMMISSION,
        "currency": "CNY",
        "slots": 1,
        "required_skills": ["labeling"],
    }
    task_id = a.expect(201, "POST", "/v1/tasks", json=task)["id"]
    assert a.expect(200, "GET", f"/v1/tasks/{task_id}")["status"] == "draft"
    a.expect(202, "POST", f"/v1/tasks/{task_id}/publish")
    assert a.expect(200, "GET", f"/v1/tasks/{task_id}")["status"] in ("funding", "published")
    a.wait_for(f"/v1/tasks/{task_id}", "published")
    b = qualified_party_b()
    admin.expect(200, "POST", f"/v1/admin/providers/{b.id}/verify")
    assert admin.expect(200, "GET", f"/v1/providers/{b.id}")["verification"] == "verified"
    order_id = b.expect(201, "POST", f"/v1/tasks/{task_id}/orders")["id"]
    assert b.expect(200, "GET", f"/v1/orders/{order_id}")["status"] == "accepted"
    files = {"files": ("proof.png", png(99), "image/png")}
    voucher_id = b.expect(
        201, "POST", f"/v1/orders/{order_id}/vouchers", files=files, data={"note": "done"}
    )["id"]
    assert b.expect(200, "GET", f"/v1/vouchers/{voucher_id}")["status"] == "submitted"
    listed = b.expect(200, "GET", f"/v1/orders/{order_id}/vouchers")["items"]
    assert [v["id"] for v in listed] == [voucher_id]
    a.expect(200, "POST", f"/v1/vouchers/{voucher_id}/approve")
    assert a.expect(200, "GET", f"/v1/vouchers/{voucher_id}")["status"] == "approved"


@contextmanager
def broker_paused(platform: dict[str, str]) -> Iterator[None]:
    """SIGSTOP the platform's Tansu broker: relays and consumers make no progress meanwhile."""
    port = platform["RING_EMBEDDED_KAFKA_PORT"]
    found = subprocess.run(
        ["pgrep", "-f", f"tansu.*127.0.0.1:{port}"], capture_output=True, text=True, check=False
    )
    pids = [int(p) for p in found.stdout.split()]
    assert pids, f"no broker process on port {port}"
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def test_past_the_bound_a_dependent_command_is_503_catching_up_then_succeeds(
    platform: dict[str, str], admin: Party
) -> None:
    a = funded_party_a(10 * COMMISSION)
    task_id = published_task(a)
    b = qualified_party_b()
    with broker_paused(platform):
        admin.expect(200, "POST", f"/v1/admin/providers/{b.id}/verify")
        started = time.monotonic()
        answer = b.client.post(f"/v1/tasks/{task_id}/orders")
        waited = time.monotonic() - started
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "catching_up"
        assert int(answer.headers["Retry-After"]) >= 1
        assert waited >= 1.5  # it waited for the bound (2 s by default) before answering
    deadline = time.monotonic() + 30
    while True:  # the client follows Retry-After, as documented
        answer = b.client.post(f"/v1/tasks/{task_id}/orders")
        if answer.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(int(answer.headers.get("Retry-After", "1")))
    assert answer.status_code == 201, answer.text
