"""The core loop through the public HTTP API only, with every service as its own OS process.

A registers, deposits, drafts and publishes a 2-slot task; B1 and B2 register and qualify, an
admin verifies them; both take orders; B1's voucher is approved and B1 is paid exactly the
commission; B2's voucher is rejected, B2 resubmits and is approved; every order's history shows
every step, and ``ring ledger check`` passes at the end.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from PIL import Image

from ring_runtime.settings import SERVICE_PORTS
from ring_runtime.testing import admin_create, wait_until

pytestmark = pytest.mark.e2e

GATEWAY = f"http://127.0.0.1:{SERVICE_PORTS['gateway']}"
COMMISSION, FEE = 10_000, 500  # RING_PLATFORM_FEE_BPS default: 5 %
BIN = Path(sys.executable).parent


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

        return wait_until(
            attempt, within=within, what=f"{method} {path} → {status}: {answers[-1:]}"
        )

    def wallet(self) -> dict[str, int]:
        answer = self.client.get("/v1/wallet", params={"currency": "CNY"})
        assert answer.status_code == 200, answer.text
        balance: dict[str, int] = answer.json()
        return balance


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
    return str(answer.json()["id"])


def statuses(party: Party, order_id: str) -> list[str]:
    answer = party.client.get(f"/v1/orders/{order_id}")
    assert answer.status_code == 200, answer.text
    return [step["status"] for step in answer.json()["history"]]


# The Kafka lane runs the loop again on Apache Kafka (every hop is an event); the authorization
# matrix below is answered by the services before anything reaches the broker, so once is enough.
@pytest.mark.kafka_lane
def test_core_loop_through_http(platform: dict[str, str]) -> None:
    admin_email = f"admin-{uuid4().hex[:8]}@ring.test"
    admin_create(platform, admin_email, "correct horse 9!")
    admin = Party("admin", admin_email)

    a = Party("party_a")
    deposit = a.client.post(
        "/v1/wallet/deposits",
        json={"amount_minor": 50_000, "currency": "CNY"},
        headers={"Idempotency-Key": str(uuid4())},
    )
    assert deposit.status_code in (200, 201), deposit.text
    wait_until(lambda: a.wallet()["available_minor"] == 50_000, what="deposit visible")

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
    wait_until(
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
    # A checks the proof before approving: the file comes back byte for byte, typed by content.
    (file1,) = a.client.get(f"/v1/vouchers/{voucher1}").json()["files"]
    proof = a.client.get(f"/v1/vouchers/{voucher1}/files/{file1['sha256']}")
    assert (proof.status_code, proof.content) == (200, png(1))
    assert proof.headers["content-type"] == "image/png"
    stranger = b2.client.get(f"/v1/vouchers/{voucher1}/files/{file1['sha256']}")
    assert stranger.status_code in (403, 404)
    assert admin.client.get(f"/v1/vouchers/{voucher1}").json()["id"] == voucher1
    a.until("POST", f"/v1/vouchers/{voucher1}/approve", 200)
    wait_until(lambda: b1.wallet()["available_minor"] == COMMISSION, what="B1 paid")
    assert a.wallet()["reserved_minor"] == COMMISSION + FEE

    voucher2 = upload(b2, order2, seed=2)
    rejected = a.until("POST", f"/v1/vouchers/{voucher2}/reject", 200, json={"reason": "blurry"})
    assert rejected.status_code == 200
    wait_until(lambda: "rejected" in statuses(b2, order2), what="order 2 rejected")
    resubmitted = upload(b2, order2, seed=3)
    a.until("POST", f"/v1/vouchers/{resubmitted}/approve", 200)
    wait_until(lambda: b2.wallet()["available_minor"] == COMMISSION, what="B2 paid")

    assert b1.wallet()["available_minor"] == COMMISSION  # paid exactly once
    wait_until(lambda: a.wallet()["reserved_minor"] == 0, what="escrow used up")
    assert a.wallet()["available_minor"] == 50_000 - 2 * (COMMISSION + FEE)

    wait_until(lambda: statuses(b1, order1)[-1] == "settled", what="order 1 settled")
    wait_until(lambda: statuses(b2, order2)[-1] == "settled", what="order 2 settled")
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

    # Every list pages by cursor: B2's two vouchers one at a time, oldest first.
    first = a.client.get(f"/v1/orders/{order2}/vouchers", params={"limit": 1}).json()
    assert [v["id"] for v in first["items"]] == [voucher2]
    rest = a.client.get(
        f"/v1/orders/{order2}/vouchers", params={"limit": 1, "cursor": first["next_cursor"]}
    ).json()
    assert ([v["id"] for v in rest["items"]], rest["next_cursor"]) == ([resubmitted], None)
    for text, author in (("Thanks!", a), ("Anytime", b1), ("More next week?", a)):
        posted = author.client.post(f"/v1/orders/{order1}/messages", json={"body": text})
        assert posted.status_code == 201, posted.text
    page = b1.client.get(f"/v1/orders/{order1}/messages", params={"limit": 2}).json()
    last = b1.client.get(
        f"/v1/orders/{order1}/messages", params={"limit": 2, "cursor": page["next_cursor"]}
    ).json()
    assert [m["body"] for m in page["items"] + last["items"]] == [
        "Thanks!",
        "Anytime",
        "More next week?",
    ]
    assert last["next_cursor"] is None

    # B1's statement explains the balance; a payout can be read back and cancelled by B1 only.
    statement = b1.client.get("/v1/wallet/statement", params={"currency": "CNY"}).json()
    assert sum(p["credit_minor"] - p["debit_minor"] for p in statement["postings"]) == COMMISSION
    payout = b1.client.post(
        "/v1/wallet/withdrawals",
        json={"amount_minor": 4_000, "currency": "CNY"},
        headers={"Idempotency-Key": str(uuid4())},
    )
    assert payout.status_code == 201, payout.text
    payout_id = payout.json()["id"]
    assert b1.wallet()["available_minor"] == COMMISSION - 4_000
    assert b2.client.get(f"/v1/wallet/withdrawals/{payout_id}").status_code in (403, 404)
    assert b2.client.post(f"/v1/wallet/withdrawals/{payout_id}/cancel").status_code in (403, 404)
    assert b1.client.get(f"/v1/wallet/withdrawals/{payout_id}").json()["status"] == "requested"
    cancelled = b1.client.post(f"/v1/wallet/withdrawals/{payout_id}/cancel")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert b1.wallet()["available_minor"] == COMMISSION

    check = subprocess.run(
        [str(BIN / "ring"), "ledger", "check"],
        env=platform,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_authorization_matrix(platform: dict[str, str]) -> None:
    """Every id-taking endpoint, called by a party that is not entitled to that object or
    operation, is refused (403 or 404) and changes nothing."""
    admin_email = f"admin-{uuid4().hex[:8]}@ring.test"
    admin_create(platform, admin_email, "correct horse 9!")
    admin = Party("admin", admin_email)
    owner, other_owner = Party("party_a"), Party("party_a")
    provider, other_provider = Party("party_b"), Party("party_b")

    deposit = owner.client.post(
        "/v1/wallet/deposits",
        json={"amount_minor": 20_000, "currency": "CNY"},
        headers={"Idempotency-Key": str(uuid4())},
    )
    assert deposit.status_code in (200, 201), deposit.text
    task_id = owner.client.post(
        "/v1/tasks",
        json={
            "title": "Check 50 invoices",
            "deadline": "2030-01-01T00:00:00Z",
            "commission_minor": COMMISSION,
            "currency": "CNY",
            "slots": 1,
        },
    ).json()["id"]
    owner.until("POST", f"/v1/tasks/{task_id}/publish", 202)
    wait_until(
        lambda: owner.client.get(f"/v1/tasks/{task_id}").json()["status"] == "published",
        what="task published",
    )
    provider.client.post(
        "/v1/providers/me/qualifications",
        json={"kind": "certificate", "reference": "C-2", "skills": ["accounting"]},
    )
    admin.until("POST", f"/v1/admin/providers/{provider.id}/verify", 200)
    order_id = provider.until("POST", f"/v1/tasks/{task_id}/orders", 201).json()["id"]
    voucher_id = upload(provider, order_id, seed=7)
    (stored,) = owner.client.get(f"/v1/vouchers/{voucher_id}").json()["files"]
    voucher_file = f"/v1/vouchers/{voucher_id}/files/{stored['sha256']}"
    owner.until("POST", f"/v1/vouchers/{voucher_id}/reject", 200, json={"reason": "incomplete"})
    wait_until(lambda: "rejected" in statuses(provider, order_id), what="order rejected")
    dispute_id = provider.until(
        "POST",
        f"/v1/orders/{order_id}/disputes",
        201,
        json={"reason": "all invoices were checked", "category": "unfair_rejection"},
    ).json()["id"]
    wait_until(lambda: statuses(owner, order_id)[-1] == "disputed", what="order disputed")

    reason = {"reason": "because"}
    statement = {"statement": "not mine to say"}
    attempts: list[tuple[Party, str, str, dict[str, Any]]] = [
        # another Party A on A's task, order, voucher and dispute
        (other_owner, "POST", f"/v1/tasks/{task_id}/publish", {}),
        (other_owner, "POST", f"/v1/tasks/{task_id}/cancel", {}),
        (other_owner, "GET", f"/v1/tasks/{task_id}/candidates", {}),
        (other_owner, "POST", f"/v1/orders/{order_id}/approve", {}),
        (other_owner, "POST", f"/v1/orders/{order_id}/decline", {"json": reason}),
        (other_owner, "GET", f"/v1/orders/{order_id}", {}),
        (other_owner, "GET", f"/v1/orders/{order_id}/messages", {}),
        (other_owner, "POST", f"/v1/orders/{order_id}/messages", {"json": {"body": "hi"}}),
        (other_owner, "GET", f"/v1/vouchers/{voucher_id}", {}),
        (other_owner, "GET", f"/v1/orders/{order_id}/vouchers", {}),
        (other_owner, "GET", voucher_file, {}),
        (other_owner, "POST", f"/v1/vouchers/{voucher_id}/approve", {}),
        (other_owner, "POST", f"/v1/vouchers/{voucher_id}/reject", {"json": reason}),
        (other_owner, "POST", f"/v1/orders/{order_id}/disputes", {"json": reason}),
        (other_owner, "GET", f"/v1/disputes/{dispute_id}", {}),
        (other_owner, "POST", f"/v1/disputes/{dispute_id}/evidence", {"json": statement}),
        (other_owner, "POST", f"/v1/disputes/{dispute_id}/responses", {"json": statement}),
        # another Party B on B's order, voucher and dispute
        (other_provider, "GET", f"/v1/orders/{order_id}", {}),
        (
            other_provider,
            "POST",
            f"/v1/orders/{order_id}/progress",
            {"json": {"percent": 50, "note": "x"}},
        ),
        (
            other_provider,
            "POST",
            f"/v1/orders/{order_id}/vouchers",
            {"files": {"files": ("x.png", png(8), "image/png")}, "data": {"note": "x"}},
        ),
        (other_provider, "GET", f"/v1/vouchers/{voucher_id}", {}),
        (other_provider, "GET", f"/v1/orders/{order_id}/vouchers", {}),
        (other_provider, "GET", voucher_file, {}),
        (other_provider, "GET", f"/v1/orders/{order_id}/messages", {}),
        (other_provider, "GET", f"/v1/disputes/{dispute_id}", {}),
        (other_provider, "POST", f"/v1/disputes/{dispute_id}/withdraw", {}),
        (other_provider, "POST", f"/v1/disputes/{dispute_id}/arbitration", {}),
        # the wrong role altogether
        (provider, "POST", f"/v1/tasks/{task_id}/publish", {}),
        (provider, "POST", f"/v1/vouchers/{voucher_id}/approve", {}),
        (provider, "GET", f"/v1/providers/{other_provider.id}", {}),
        (owner, "POST", f"/v1/admin/providers/{other_provider.id}/verify", {}),
        (
            owner,
            "POST",
            f"/v1/admin/disputes/{dispute_id}/resolve",
            {"json": {"outcome": "refund"}},
        ),
        (owner, "GET", f"/v1/admin/audit/{task_id}", {}),
        (provider, "GET", "/v1/admin/disputes", {}),
    ]
    refused = {
        f"{method} {path} as {party.email}": party.client.request(method, path, **kwargs)
        for party, method, path, kwargs in attempts
    }
    wrong = {
        k: (r.status_code, r.text[:200])
        for k, r in refused.items()
        if r.status_code not in (403, 404)
    }
    assert not wrong, wrong
    assert all(r.json()["error"]["code"] for r in refused.values())

    # Each party lists only the disputes of its own orders; admins page through the queue.
    def dispute_ids(party: Party, path: str, **params: Any) -> list[str]:
        found: list[str] = []
        cursor: str | None = None
        while True:
            following = {"cursor": cursor} if cursor else {}
            answer = party.client.get(path, params={**params, "limit": 1, **following})
            assert answer.status_code == 200, answer.text
            found += [d["id"] for d in answer.json()["items"]]
            cursor = answer.json()["next_cursor"]
            if cursor is None:
                return found

    assert dispute_ids(provider, "/v1/disputes") == [dispute_id]
    assert dispute_ids(owner, "/v1/disputes") == [dispute_id]
    assert dispute_ids(other_provider, "/v1/disputes") == []
    assert dispute_id in dispute_ids(admin, "/v1/admin/disputes", status="open")

    # nothing changed: the task is still published, the order still disputed, the voucher rejected
    assert owner.client.get(f"/v1/tasks/{task_id}").json()["status"] == "published"
    assert statuses(owner, order_id)[-1] == "disputed"
    assert owner.client.get(f"/v1/vouchers/{voucher_id}").json()["status"] == "rejected"
    assert provider.client.get(f"/v1/disputes/{dispute_id}").json()["status"] != "withdrawn"

    # One task lifecycle — publication, funding, order, voucher, rejection, dispute — is one
    # correlation id in every service, and ``ring audit trail`` shows it (decision 0016).
    trail = admin.client.get(f"/v1/admin/audit/trails/{task_id}")
    assert trail.status_code == 200, trail.text
    events = trail.json()["events"]
    assert {"task", "ledger", "voucher", "dispute"} <= {e["service"] for e in events}
    correlations = {e["correlation_id"] for e in events}
    assert len(correlations) == 1, sorted(
        (e["service"], e["name"], e["correlation_id"]) for e in events
    )
    assert {voucher_id, dispute_id} <= {e["aggregate_id"] for e in events}
    shown = subprocess.run(
        [str(BIN / "ring"), "audit", "trail", task_id],
        env=platform,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    (correlation,) = correlations
    for aggregate in (task_id, order_id, voucher_id, dispute_id):
        assert any(
            aggregate in line and f"correlation={correlation}" in line
            for line in shown.stdout.splitlines()
        ), shown.stdout


def test_every_read_model_rebuilds_identical_on_the_live_platform(
    platform: dict[str, str],
) -> None:
    """After the loops above (tasks, orders, vouchers, payments, a dispute), every registered
    read model of every service — the ones fed from other contexts' topics included — is
    rebuilt from the stores and found equal to the live tables, while the platform runs."""
    listed = subprocess.run(
        [str(BIN / "ring"), "projections", "list"],
        env=platform,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    services = sorted({line.split()[0] for line in listed.stdout.splitlines()})
    assert {"task", "matching", "voucher", "ledger", "dispute", "notification"} <= set(services)
    for service in services:
        rebuilt = subprocess.run(
            [str(BIN / "ring"), "projections", "rebuild", service, "--verify"],
            env=platform,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert rebuilt.returncode == 0, (service, rebuilt.stdout, rebuilt.stderr[-2000:])
        names = [
            n for s, n in (line.split() for line in listed.stdout.splitlines()) if s == service
        ]
        for name in names:
            assert f"{service}/{name}: identical to the live model" in rebuilt.stdout
