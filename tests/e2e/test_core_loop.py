"""The core loop through the public HTTP API only, with every service as its own OS process.

One scenario a test, on one platform for the whole module. The steps a scenario stands on are
module-scoped fixtures, each done once and shared by every test that needs it; the tests run
in file order, so each sees the platform as the steps before it left it, and a test run alone
builds just the steps it needs.

The loop — A deposits and publishes a 2-slot task; B1 and B2 register and qualify, an admin
verifies them; both take an order:

- publishing reserves commission and fee for every slot;
- each verified provider takes one order;
- A downloads B1's proof byte for byte, B2 cannot;
- A approves B1's voucher and B1 is paid exactly the commission;
- A rejects B2's voucher, B2 resubmits and is paid once it is approved;
- both orders settle and the escrow is used up;
- every order's history shows every step;
- an order's vouchers and messages page by cursor, oldest first;
- B1's statement explains the balance, and B1 alone reads and cancels a payout;
- ``ring ledger check`` passes at the end.

Authorization — another A's task is taken, its voucher rejected and disputed:

- no other party may act on that task, order, voucher or dispute, and nothing changes;
- each party lists only the disputes of its own orders, admins the whole queue;
- the whole lifecycle is one correlation id in every service and in ``ring audit trail``.

Last, every read model of every service rebuilds identical to the live one.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
from dataclasses import dataclass
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
DEPOSIT = 50_000  # A's deposit in the loop
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


def verified_provider(admin: Party, reference: str, skill: str) -> Party:
    """A new Party B with a qualification in ``skill``, verified by ``admin``."""
    provider = Party("party_b")
    qualification = provider.client.post(
        "/v1/providers/me/qualifications",
        json={"kind": "certificate", "reference": reference, "skills": [skill]},
    )
    assert qualification.status_code in (200, 201), qualification.text
    admin.until("POST", f"/v1/admin/providers/{provider.id}/verify", 200)
    return provider


def deposit(party: Party, amount: int) -> None:
    answer = party.client.post(
        "/v1/wallet/deposits",
        json={"amount_minor": amount, "currency": "CNY"},
        headers={"Idempotency-Key": str(uuid4())},
    )
    assert answer.status_code in (200, 201), answer.text


def wait_published(owner: Party, task_id: str) -> None:
    wait_until(
        lambda: owner.client.get(f"/v1/tasks/{task_id}").json()["status"] == "published",
        what="task published",
    )


def ring(platform: dict[str, str], *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run the ``ring`` CLI against the platform."""
    return subprocess.run(
        [str(BIN / "ring"), *args], env=platform, capture_output=True, text=True, timeout=timeout
    )


# -- the loop's steps ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def admin(platform: dict[str, str]) -> Party:
    email = f"admin-{uuid4().hex[:8]}@ring.test"
    admin_create(platform, email, "correct horse 9!")
    return Party("admin", email)


@pytest.fixture(scope="module")
def owner(platform: dict[str, str]) -> Party:
    """A, with the deposit visible in the wallet."""
    a = Party("party_a")
    deposit(a, DEPOSIT)
    wait_until(lambda: a.wallet()["available_minor"] == DEPOSIT, what="deposit visible")
    return a


@pytest.fixture(scope="module")
def task_id(owner: Party) -> str:
    """A's 2-slot task, drafted and published."""
    draft = owner.client.post(
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
    task: str = draft.json()["id"]
    assert owner.client.post(f"/v1/tasks/{task}/publish").status_code == 202
    wait_published(owner, task)
    return task


@pytest.fixture(scope="module")
def b1(admin: Party) -> Party:
    return verified_provider(admin, "CERT-1", "labeling")


@pytest.fixture(scope="module")
def b2(admin: Party) -> Party:
    return verified_provider(admin, "CERT-1", "labeling")


@pytest.fixture(scope="module")
def order1(task_id: str, b1: Party) -> str:
    return str(b1.until("POST", f"/v1/tasks/{task_id}/orders", 201).json()["id"])


@pytest.fixture(scope="module")
def order2(task_id: str, b2: Party) -> str:
    return str(b2.until("POST", f"/v1/tasks/{task_id}/orders", 201).json()["id"])


@pytest.fixture(scope="module")
def voucher1(b1: Party, order1: str) -> str:
    """B1's voucher, one PNG."""
    return upload(b1, order1, seed=1)


@pytest.fixture(scope="module")
def approved1(owner: Party, voucher1: str) -> str:
    """B1's voucher, approved by A."""
    owner.until("POST", f"/v1/vouchers/{voucher1}/approve", 200)
    return voucher1


@pytest.fixture(scope="module")
def rejected2(owner: Party, b2: Party, order2: str) -> str:
    """B2's first voucher, rejected by A (seen in the order's history)."""
    voucher = upload(b2, order2, seed=2)
    rejected = owner.until("POST", f"/v1/vouchers/{voucher}/reject", 200, json={"reason": "blurry"})
    assert rejected.status_code == 200
    wait_until(lambda: "rejected" in statuses(b2, order2), what="order 2 rejected")
    return voucher


@pytest.fixture(scope="module")
def approved2(owner: Party, b2: Party, order2: str, rejected2: str) -> str:
    """B2's second voucher, resubmitted after the rejection and approved by A."""
    resubmitted = upload(b2, order2, seed=3)
    owner.until("POST", f"/v1/vouchers/{resubmitted}/approve", 200)
    return resubmitted


@pytest.fixture(scope="module")
def settled(b1: Party, b2: Party, order1: str, order2: str, approved1: str, approved2: str) -> None:
    """Both providers paid and both orders settled."""
    wait_until(lambda: b1.wallet()["available_minor"] == COMMISSION, what="B1 paid")
    wait_until(lambda: b2.wallet()["available_minor"] == COMMISSION, what="B2 paid")
    wait_until(lambda: statuses(b1, order1)[-1] == "settled", what="order 1 settled")
    wait_until(lambda: statuses(b2, order2)[-1] == "settled", what="order 2 settled")


# -- the loop --------------------------------------------------------------------------------
# The Kafka lane runs the loop again on Apache Kafka (every hop is an event); the authorization
# scenarios below are answered by the services before anything reaches the broker, so once is
# enough.


@pytest.mark.kafka_lane
def test_publishing_reserves_commission_and_fee_for_every_slot(owner: Party, task_id: str) -> None:
    assert owner.wallet() == {
        "currency": "CNY",
        "available_minor": DEPOSIT - 2 * (COMMISSION + FEE),
        "reserved_minor": 2 * (COMMISSION + FEE),
    }


@pytest.mark.kafka_lane
def test_each_verified_provider_takes_an_order(
    b1: Party, b2: Party, order1: str, order2: str
) -> None:
    assert order1 != order2
    assert statuses(b1, order1)[0] == "applied"
    assert statuses(b2, order2)[0] == "applied"


@pytest.mark.kafka_lane
def test_the_owner_downloads_the_proof_byte_for_byte_and_others_cannot(
    admin: Party, owner: Party, b2: Party, voucher1: str
) -> None:
    (file1,) = owner.client.get(f"/v1/vouchers/{voucher1}").json()["files"]
    proof = owner.client.get(f"/v1/vouchers/{voucher1}/files/{file1['sha256']}")
    assert (proof.status_code, proof.content) == (200, png(1))
    assert proof.headers["content-type"] == "image/png"  # typed by content
    stranger = b2.client.get(f"/v1/vouchers/{voucher1}/files/{file1['sha256']}")
    assert stranger.status_code in (403, 404)
    assert admin.client.get(f"/v1/vouchers/{voucher1}").json()["id"] == voucher1


@pytest.mark.kafka_lane
def test_an_approved_voucher_pays_the_provider_the_commission(
    owner: Party, b1: Party, approved1: str
) -> None:
    wait_until(lambda: b1.wallet()["available_minor"] == COMMISSION, what="B1 paid")
    assert owner.wallet()["reserved_minor"] == COMMISSION + FEE  # the other slot's escrow


@pytest.mark.kafka_lane
def test_a_rejected_voucher_is_resubmitted_and_paid_once_approved(
    b2: Party, order2: str, rejected2: str, approved2: str
) -> None:
    wait_until(lambda: b2.wallet()["available_minor"] == COMMISSION, what="B2 paid")
    assert "rejected" in statuses(b2, order2)


@pytest.mark.kafka_lane
def test_both_orders_settle_and_the_escrow_is_used_up(
    owner: Party, b1: Party, b2: Party, order1: str, order2: str, settled: None
) -> None:
    assert b1.wallet()["available_minor"] == COMMISSION  # paid exactly once
    wait_until(lambda: owner.wallet()["reserved_minor"] == 0, what="escrow used up")
    assert owner.wallet()["available_minor"] == DEPOSIT - 2 * (COMMISSION + FEE)
    assert (statuses(b1, order1)[-1], statuses(b2, order2)[-1]) == ("settled", "settled")


@pytest.mark.kafka_lane
def test_every_order_history_shows_every_step(
    owner: Party, b1: Party, order1: str, order2: str, settled: None
) -> None:
    assert [s for s in statuses(owner, order1) if s != "in_progress"] == [
        "applied",
        "accepted",
        "submitted",
        "approved",
        "settled",
    ]
    assert [s for s in statuses(owner, order2) if s != "in_progress"] == [
        "applied",
        "accepted",
        "submitted",
        "rejected",
        "submitted",
        "approved",
        "settled",
    ]
    assert b1.client.get(f"/v1/orders/{order2}").status_code in (403, 404)


@pytest.mark.kafka_lane
def test_an_orders_vouchers_page_by_cursor_oldest_first(
    owner: Party, order2: str, rejected2: str, approved2: str
) -> None:
    first = owner.client.get(f"/v1/orders/{order2}/vouchers", params={"limit": 1}).json()
    assert [v["id"] for v in first["items"]] == [rejected2]
    rest = owner.client.get(
        f"/v1/orders/{order2}/vouchers", params={"limit": 1, "cursor": first["next_cursor"]}
    ).json()
    assert ([v["id"] for v in rest["items"]], rest["next_cursor"]) == ([approved2], None)


@pytest.mark.kafka_lane
def test_an_orders_messages_page_by_cursor_in_order(
    owner: Party, b1: Party, order1: str, settled: None
) -> None:
    for text, author in (("Thanks!", owner), ("Anytime", b1), ("More next week?", owner)):
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


@pytest.mark.kafka_lane
def test_the_statement_explains_the_providers_balance(b1: Party, settled: None) -> None:
    statement = b1.client.get("/v1/wallet/statement", params={"currency": "CNY"}).json()
    assert sum(p["credit_minor"] - p["debit_minor"] for p in statement["postings"]) == COMMISSION


@pytest.mark.kafka_lane
def test_a_payout_is_read_and_cancelled_by_its_provider_only(
    b1: Party, b2: Party, settled: None
) -> None:
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


@pytest.mark.kafka_lane
def test_the_ledger_check_passes_after_the_loop(platform: dict[str, str], settled: None) -> None:
    check = ring(platform, "ledger", "check", timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


# -- authorization ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Disputed:
    """A's task, B's order on it, B's voucher rejected by A and B's dispute of the rejection."""

    owner: Party
    provider: Party
    task_id: str
    order_id: str
    voucher_id: str
    voucher_file: str
    dispute_id: str


@pytest.fixture(scope="module")
def disputed(admin: Party) -> Disputed:
    owner = Party("party_a")
    deposit(owner, 20_000)
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
    wait_published(owner, task_id)
    provider = Party("party_b")
    provider.client.post(
        "/v1/providers/me/qualifications",
        json={"kind": "certificate", "reference": "C-2", "skills": ["accounting"]},
    )
    admin.until("POST", f"/v1/admin/providers/{provider.id}/verify", 200)
    order_id = provider.until("POST", f"/v1/tasks/{task_id}/orders", 201).json()["id"]
    voucher_id = upload(provider, order_id, seed=7)
    (stored,) = owner.client.get(f"/v1/vouchers/{voucher_id}").json()["files"]
    owner.until("POST", f"/v1/vouchers/{voucher_id}/reject", 200, json={"reason": "incomplete"})
    wait_until(lambda: "rejected" in statuses(provider, order_id), what="order rejected")
    dispute_id = provider.until(
        "POST",
        f"/v1/orders/{order_id}/disputes",
        201,
        json={"reason": "all invoices were checked", "category": "unfair_rejection"},
    ).json()["id"]
    wait_until(lambda: statuses(owner, order_id)[-1] == "disputed", what="order disputed")
    return Disputed(
        owner=owner,
        provider=provider,
        task_id=task_id,
        order_id=order_id,
        voucher_id=voucher_id,
        voucher_file=f"/v1/vouchers/{voucher_id}/files/{stored['sha256']}",
        dispute_id=dispute_id,
    )


def test_no_other_party_may_act_on_a_task_order_voucher_or_dispute(disputed: Disputed) -> None:
    """Every id-taking endpoint, called by a party that is not entitled to that object or
    operation, is refused (403 or 404) and changes nothing."""
    owner, provider = disputed.owner, disputed.provider
    other_owner, other_provider = Party("party_a"), Party("party_b")
    task_id, order_id, voucher_id = disputed.task_id, disputed.order_id, disputed.voucher_id
    voucher_file, dispute_id = disputed.voucher_file, disputed.dispute_id
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

    # nothing changed: the task is still published, the order still disputed, the voucher rejected
    assert owner.client.get(f"/v1/tasks/{task_id}").json()["status"] == "published"
    assert statuses(owner, order_id)[-1] == "disputed"
    assert owner.client.get(f"/v1/vouchers/{voucher_id}").json()["status"] == "rejected"
    assert provider.client.get(f"/v1/disputes/{dispute_id}").json()["status"] != "withdrawn"


def dispute_ids(party: Party, path: str, **params: Any) -> list[str]:
    """Every dispute id ``party`` lists at ``path``, paged one at a time."""
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


def test_each_party_lists_only_the_disputes_of_its_own_orders(
    admin: Party, disputed: Disputed
) -> None:
    dispute_id = disputed.dispute_id
    assert dispute_ids(disputed.provider, "/v1/disputes") == [dispute_id]
    assert dispute_ids(disputed.owner, "/v1/disputes") == [dispute_id]
    assert dispute_ids(Party("party_b"), "/v1/disputes") == []
    assert dispute_id in dispute_ids(admin, "/v1/admin/disputes", status="open")


def test_one_task_lifecycle_is_one_correlation_id_in_every_service(
    platform: dict[str, str], admin: Party, disputed: Disputed
) -> None:
    """Publication, funding, order, voucher, rejection, dispute: one correlation id in every
    service, and ``ring audit trail`` shows it (decision 0016)."""
    trail = admin.client.get(f"/v1/admin/audit/trails/{disputed.task_id}")
    assert trail.status_code == 200, trail.text
    events = trail.json()["events"]
    assert {"task", "ledger", "voucher", "dispute"} <= {e["service"] for e in events}
    correlations = {e["correlation_id"] for e in events}
    assert len(correlations) == 1, sorted(
        (e["service"], e["name"], e["correlation_id"]) for e in events
    )
    assert {disputed.voucher_id, disputed.dispute_id} <= {e["aggregate_id"] for e in events}
    shown = ring(platform, "audit", "trail", disputed.task_id, timeout=180)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    (correlation,) = correlations
    for aggregate in (
        disputed.task_id,
        disputed.order_id,
        disputed.voucher_id,
        disputed.dispute_id,
    ):
        assert any(
            aggregate in line and f"correlation={correlation}" in line
            for line in shown.stdout.splitlines()
        ), shown.stdout


# -- read models -----------------------------------------------------------------------------


def test_every_read_model_rebuilds_identical_on_the_live_platform(
    platform: dict[str, str], settled: None, disputed: Disputed
) -> None:
    """After the loop and the dispute above (tasks, orders, vouchers, payments, a dispute),
    every registered read model of every service — the ones fed from other contexts' topics
    included — is rebuilt from the stores and found equal to the live tables, while the
    platform runs."""
    listed = ring(platform, "projections", "list", timeout=60)
    assert listed.returncode == 0, listed.stderr
    services = sorted({line.split()[0] for line in listed.stdout.splitlines()})
    assert {"task", "matching", "voucher", "ledger", "dispute", "notification"} <= set(services)
    for service in services:
        rebuilt = ring(platform, "projections", "rebuild", service, "--verify", timeout=300)
        assert rebuilt.returncode == 0, (service, rebuilt.stdout, rebuilt.stderr[-2000:])
        names = [
            n for s, n in (line.split() for line in listed.stdout.splitlines()) if s == service
        ]
        for name in names:
            assert f"{service}/{name}: identical to the live model" in rebuilt.stdout
