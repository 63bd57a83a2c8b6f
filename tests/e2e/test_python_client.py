"""``ring_client`` against the whole platform (``ring run``): the README's core loop exactly as
written, the same loop with the asyncio client, paging, error mapping, idempotency keys and
token refresh on the real gateway."""

from __future__ import annotations

import contextlib
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal
from uuid import uuid4

import httpx
import pytest

from ring_client import (
    AsyncRing,
    BadRequest,
    Forbidden,
    NotFound,
    Ring,
    TaskCreateRequest,
    Unauthorized,
    Unprocessable,
    _generate,
)
from ring_runtime.settings import SERVICE_PORTS
from ring_runtime.testing import admin_create

pytestmark = pytest.mark.e2e

GATEWAY = f"http://127.0.0.1:{SERVICE_PORTS['gateway']}"
README = Path(__file__).parents[2] / "libs" / "client" / "README.md"
PASSWORD = "correct horse 9!"
COMMISSION, FEE = 10_000, 500  # RING_PLATFORM_FEE_BPS default: 5 %


@pytest.fixture(scope="module")
def admin(platform: dict[str, str]) -> tuple[str, str]:
    """Email and password of a fresh admin (made by the CLI, as admins always are)."""
    email = f"admin-{uuid4().hex[:8]}@ring.test"
    admin_create(platform, email, PASSWORD)
    return email, PASSWORD


def readme_core_loop() -> str:
    """The Python block between the README's core-loop markers."""
    text = README.read_text()
    block = re.search(
        r"<!-- core-loop:start -->\s*```python\n(.*?)```\s*<!-- core-loop:end -->", text, re.S
    )
    assert block is not None, "the README lost its core-loop block"
    return block.group(1)


def test_the_readme_core_loop_runs_as_written(
    admin: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RING_URL", GATEWAY)
    monkeypatch.setenv("RING_ADMIN_EMAIL", admin[0])
    monkeypatch.setenv("RING_ADMIN_PASSWORD", admin[1])
    source = readme_core_loop()
    assert 15 <= len([line for line in source.splitlines() if line.strip()]) <= 30
    namespace: dict[str, object] = {"__name__": "readme"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(source, str(README), "exec"), namespace)
    assert printed.getvalue().strip() == (
        "Wallet(currency='CNY', available_minor=10000, reserved_minor=0)"
    )
    a, order = namespace["a"], namespace["order"]
    assert isinstance(a, Ring)
    history = [step.status for step in a.get_order(order.id).history]  # type: ignore[attr-defined]
    assert [s for s in history if s != "in_progress"] == [
        "applied",
        "accepted",
        "submitted",
        "approved",
        "settled",
    ]
    wallet = a.wallet("CNY")
    assert (wallet.available_minor, wallet.reserved_minor) == (50_000 - COMMISSION - FEE, 0)


async def sign_up(role: Literal["party_a", "party_b"]) -> AsyncRing:
    ring = AsyncRing(GATEWAY)
    email = f"{role}-{uuid4().hex[:8]}@ring.test"
    await ring.register(email=email, password=PASSWORD, role=role, display_name=role)
    await ring.login(email, PASSWORD)
    return ring


async def test_the_core_loop_with_the_async_client_pages_and_maps_errors(
    admin: tuple[str, str],
) -> None:
    a, b, other = await sign_up("party_a"), await sign_up("party_b"), await sign_up("party_b")
    boss = AsyncRing(GATEWAY)
    await boss.login(*admin)
    await b.submit_qualification(kind="certificate", reference="C-7", skills=["labeling"])
    await boss.verify_provider((await b.me()).id)

    # One deposit per key, however often it is sent.
    key = str(uuid4())
    first = await a.deposit(30_000, "CNY", idempotency_key=key)
    again = await a.deposit(30_000, "CNY", idempotency_key=key)
    assert again.id == first.id
    assert (await a.wallet("CNY")).available_minor == 30_000

    deadline = datetime.now(UTC) + timedelta(days=3)
    draft = await a.create_task(
        TaskCreateRequest(
            title="Check 40 invoices",
            deadline=deadline,
            commission_minor=COMMISSION,
            currency="CNY",
            slots=2,
            required_skills=["labeling"],
        )
    )
    assert draft.status == "draft"
    await a.publish_task(draft.id)
    task = await a.wait_for_task(draft.id, "published", "funding_failed")
    assert (task.status, task.reserved_minor) == ("published", 2 * (COMMISSION + FEE))

    order = await b.take_order(draft.id)
    voucher = await b.submit_voucher(
        order.id, [("invoices.pdf", b"%PDF-1.4 " + uuid4().bytes, "application/pdf")]
    )
    for text in ("Done?", "Yes, all 40", "Thanks"):
        await (a if text != "Yes, all 40" else b).post_message(order.id, text)
    await a.approve_voucher(voucher.id)
    settled = await a.wait_for_order(order.id, "settled")
    assert settled.status == "settled"

    # Paging: every page, in order, one entry at a time.
    messages = [m.body async for m in b.iter_messages(order.id, limit=1)]
    assert messages == ["Done?", "Yes, all 40", "Thanks"]
    page = await b.list_messages(order.id, limit=2)
    assert ([m.body for m in page.items], page.next_cursor is not None) == (
        ["Done?", "Yes, all 40"],
        True,
    )
    assert [v.id async for v in a.iter_order_vouchers(order.id, limit=1)] == [voucher.id]
    postings = [p async for p in b.iter_statement("CNY", limit=1)]
    assert sum(p.credit_minor - p.debit_minor for p in postings) == COMMISSION

    # Error mapping: the API's code on the exception of its status.
    with pytest.raises(Forbidden) as forbidden:
        await b.deposit(100, "CNY")
    assert forbidden.value.code == "forbidden"
    with pytest.raises(NotFound) as missing:
        await a.get_task(uuid4())
    assert missing.value.status == 404
    assert missing.value.code
    with pytest.raises(BadRequest) as invalid:
        await a.list_orders(cursor="not-a-cursor")
    assert invalid.value.code == "invalid_cursor"
    with pytest.raises(Unprocessable) as reused:
        await a.deposit(1, "CNY", idempotency_key=key)
    assert reused.value.code == "idempotency_key_reused"
    with pytest.raises((Forbidden, NotFound)) as stranger:
        await other.get_order(order.id)
    assert stranger.value.code
    with pytest.raises(Unauthorized) as wrong:
        await AsyncRing(GATEWAY).login("nobody@ring.test", "wrong password")
    assert wrong.value.code == "invalid_credentials"
    for ring in (a, b, other, boss):
        await ring.aclose()


def test_tokens_are_refreshed_through_the_gateway(admin: tuple[str, str]) -> None:
    """A client resumed from stored tokens refreshes before its first call. Refresh tokens
    rotate: presenting the spent one again is refused and ends the session, so the successor
    stops working too (sign in again)."""
    with Ring(GATEWAY) as signed_in:
        stored = signed_in.login(*admin)
    seen: list[str] = []
    resumed = Ring(
        GATEWAY,
        access_token=stored.access_token,
        refresh_token=stored.refresh_token,
        expires_in=0,  # due now
        on_tokens=lambda tokens: seen.append(tokens.refresh_token),
    )
    assert resumed.me().role == "admin"
    assert len(seen) == 1
    assert seen[0] != stored.refresh_token
    with Ring(GATEWAY, refresh_token=stored.refresh_token, expires_in=0) as replay:
        with pytest.raises(Unauthorized) as reused:
            replay.me()
        assert reused.value.code == "refresh_token_reused"
    with Ring(GATEWAY, refresh_token=seen[0], expires_in=0) as successor:
        with pytest.raises(Unauthorized) as ended:
            successor.me()
        assert ended.value.code == "invalid_token"
    resumed.close()


def test_the_generated_module_matches_the_running_gateway(platform: dict[str, str]) -> None:
    document = httpx.get(f"{GATEWAY}/schema/openapi.json", timeout=30).json()
    assert _generate.generate(document) == _generate.TARGET.read_text()
