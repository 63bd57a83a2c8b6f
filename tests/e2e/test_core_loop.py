"""The core loop through the public HTTP API only, with every service as its own OS process.

A registers, deposits, drafts and publishes a 2-slot task; B1 and B2 register and qualify, an
admin verifies them; both take orders; B1's voucher is approved and B1 is paid exactly the
commission; B2's voucher is rejected, B2 resubmits and is approved; every order's history shows
every step, and ``ring ledger check`` passes at the end.
"""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from PIL import Image

from ring_runtime.embedded import free_port
from ring_runtime.settings import SERVICE_PORTS

pytestmark = pytest.mark.e2e

GATEWAY = f"http://127.0.0.1:{SERVICE_PORTS['gateway']}"
COMMISSION, FEE = 10_000, 500  # RING_PLATFORM_FEE_BPS default: 5 %
BIN = Path(sys.executable).parent


def wait_for(check: Callable[[], Any], *, within: float = 60.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns a truthy value."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    pytest.fail(f"{what} not reached within {within} s (last: {last!r})")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``ring run`` on the embedded infrastructure; yields the environment the CLI needs."""
    data = tmp_path_factory.mktemp("ring")
    pg_port = free_port()
    env = {
        **os.environ,
        "RING_DATA_DIR": str(data),
        "RING_EMBEDDED_PG_PORT": str(pg_port),
        "RING_EMBEDDED_KAFKA_PORT": str(free_port()),
        "RING_LOG_LEVEL": "WARNING",
    }
    log = (data / "run.log").open("w+")
    process = subprocess.Popen(
        [str(BIN / "ring"), "run"], env=env, stdout=log, stderr=subprocess.STDOUT
    )

    def up() -> bool:
        assert process.poll() is None, log_tail(log)
        try:
            return httpx.get(f"{GATEWAY}/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, within=150, what="platform ready")
        yield {**env, "RING_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{pg_port}/ring"}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()


def log_tail(log: Any) -> str:
    log.flush()
    log.seek(0)
    return log.read()[-3000:]


class Party:
    """A signed-in user of the public API."""

    def __init__(self, role: str, email: str | None = None, password: str = "correct horse 9!"):
        self.email = email or f"{role}-{uuid4().hex[:8]}@ring.test"
        if role != "admin":
            answer = httpx.post(
                f"{GATEWAY}/v1/auth/register",
                json={
                    "email": self.email,
                    "password": password,
                    "role": role,
                    "display_name": role.upper(),
                },
            )
            assert answer.status_code == 201, answer.text
        login = httpx.post(
            f"{GATEWAY}/v1/auth/login", json={"email": self.email, "password": password}
        )
        assert login.status_code == 200, login.text
        self.client = httpx.Client(
            base_url=GATEWAY,
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
            timeout=15,
        )
        self.id = self.client.get("/v1/me").json()["id"]

    def until(
        self, method: str, path: str, status: int, *, within: float = 60.0, **kwargs: Any
    ) -> httpx.Response:
        """Repeat a request until it answers ``status`` (other services catch up meanwhile)."""
        answers: list[httpx.Response] = []

        def attempt() -> httpx.Response | None:
            answer = self.client.request(method, path, **kwargs)
            answers.append(answer)
            assert answer.status_code < 500, answer.text
            return answer if answer.status_code == status else None

        return wait_for(attempt, within=within, what=f"{method} {path} → {status}: {answers[-1:]}")

    def wallet(self) -> dict[str, int]:
        answer = self.client.get("/v1/wallet", params={"currency": "CNY"})
        assert answer.status_code == 200, answer.text
        return answer.json()


def png(seed: int) -> bytes:
    """A small PNG of random noise (distinct per seed, so no duplicate flags)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (64, 64))
    image.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(4096)]
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def upload(provider: Party, order_id: str, seed: int) -> str:
    answer = provider.until(
        "POST",
        f"/v1/orders/{order_id}/vouchers",
        201,
        files={"files": (f"proof-{seed}.png", png(seed), "image/png")},
        data={"note": "done"},
    )
    return answer.json()["id"]


def statuses(party: Party, order_id: str) -> list[str]:
    answer = party.client.get(f"/v1/orders/{order_id}")
    assert answer.status_code == 200, answer.text
    return [step["status"] for step in answer.json()["history"]]


def test_core_loop_through_http(platform: dict[str, str]) -> None:
    admin_email = f"admin-{uuid4().hex[:8]}@ring.test"
    created = subprocess.run(
        [str(BIN / "ring"), "admin", "create", admin_email, "--password-stdin"],
        input="correct horse 9!\n",
        env=platform,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    admin = Party("admin", admin_email)

    a = Party("party_a")
    deposit = a.client.post(
        "/v1/wallet/deposits",
        json={"amount_minor": 50_000, "currency": "CNY"},
        headers={"Idempotency-Key": str(uuid4())},
    )
    assert deposit.status_code in (200, 201), deposit.text
    wait_for(lambda: a.wallet()["available_minor"] == 50_000, what="deposit visible")

    draft = a.client.post(
        "/v1/tasks",
        json={
            "title": "Label 200 street images",
            "description": "Boxes around every car",
            "requirements": "bounding boxes",
            "acceptance_criteria": "IoU above 0.9",
            "deadline": "2030-01-01T00:00:00Z",
            "commission_minor": COMMISSION,
            "currency": "CNY",
            "slots": 2,
            "required_skills": ["labeling"],
            "approval_required": False,
        },
    )
    assert draft.status_code == 201, draft.text
    task_id = draft.json()["id"]
    assert a.client.post(f"/v1/tasks/{task_id}/publish").status_code == 202
    wait_for(
        lambda: a.client.get(f"/v1/tasks/{task_id}").json()["status"] == "published",
        what="task published",
    )
    assert a.wallet() == {
        "currency": "CNY",
        "available_minor": 50_000 - 2 * (COMMISSION + FEE),
        "reserved_minor": 2 * (COMMISSION + FEE),
    }

    b1, b2 = Party("party_b"), Party("party_b")
    for provider in (b1, b2):
        qualification = provider.client.post(
            "/v1/providers/me/qualifications",
            json={"kind": "certificate", "reference": "CERT-1", "skills": ["labeling"]},
        )
        assert qualification.status_code in (200, 201), qualification.text
        admin.until("POST", f"/v1/admin/providers/{provider.id}/verify", 200)

    order1 = b1.until("POST", f"/v1/tasks/{task_id}/orders", 201).json()["id"]
    order2 = b2.until("POST", f"/v1/tasks/{task_id}/orders", 201).json()["id"]

    voucher1 = upload(b1, order1, seed=1)
    a.until("POST", f"/v1/vouchers/{voucher1}/approve", 200)
    wait_for(lambda: b1.wallet()["available_minor"] == COMMISSION, what="B1 paid")
    assert a.wallet()["reserved_minor"] == COMMISSION + FEE

    voucher2 = upload(b2, order2, seed=2)
    rejected = a.until("POST", f"/v1/vouchers/{voucher2}/reject", 200, json={"reason": "blurry"})
    assert rejected.status_code == 200
    wait_for(lambda: "rejected" in statuses(b2, order2), what="order 2 rejected")
    resubmitted = upload(b2, order2, seed=3)
    a.until("POST", f"/v1/vouchers/{resubmitted}/approve", 200)
    wait_for(lambda: b2.wallet()["available_minor"] == COMMISSION, what="B2 paid")

    assert b1.wallet()["available_minor"] == COMMISSION  # paid exactly once
    wait_for(lambda: a.wallet()["reserved_minor"] == 0, what="escrow used up")
    assert a.wallet()["available_minor"] == 50_000 - 2 * (COMMISSION + FEE)

    wait_for(lambda: statuses(b1, order1)[-1] == "settled", what="order 1 settled")
    wait_for(lambda: statuses(b2, order2)[-1] == "settled", what="order 2 settled")
    assert [s for s in statuses(a, order1) if s != "in_progress"] == [
        "applied",
        "accepted",
        "submitted",
        "approved",
        "settled",
    ]
    assert [s for s in statuses(a, order2) if s != "in_progress"] == [
        "applied",
        "accepted",
        "submitted",
        "rejected",
        "submitted",
        "approved",
        "settled",
    ]
    assert b1.client.get(f"/v1/orders/{order2}").status_code in (403, 404)

    check = subprocess.run(
        [str(BIN / "ring"), "ledger", "check"],
        env=platform,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
