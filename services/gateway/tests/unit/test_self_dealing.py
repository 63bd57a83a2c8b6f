"""Self-dealing: the task's owner taking its own task under a Party B account (decision 0017)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import httpx
import pytest
from litestar import Litestar

from ring_gateway.application import Users
from ring_gateway.config import GatewayConfig
from ring_gateway.domain import (
    AccountSignals,
    Evidence,
    Verdict,
    identifies_a_device,
    names_an_organisation,
    self_dealing_evidence,
    self_dealing_verdict,
)

from .conftest import FakeServices, admin_headers, register

#: A public client address: only such an address tells devices apart.
OFFICE = ("81.2.69.160", 40000)
TASK_ID = "22222222-2222-2222-2222-222222222222"


def test_shared_signals_are_evidence_and_two_of_them_refuse() -> None:
    acme = AccountSignals(email_domain="acme-corp.com", devices=frozenset({"d1"}))
    colleague = AccountSignals(email_domain="acme-corp.com", devices=frozenset({"d2"}))
    same_laptop = AccountSignals(email_domain="acme-corp.com", devices=frozenset({"d1", "d3"}))
    stranger = AccountSignals(email_domain="other.cn", devices=frozenset({"d4"}))
    assert self_dealing_evidence(acme, stranger) == []
    assert self_dealing_evidence(acme, colleague) == [Evidence.SHARED_EMAIL_DOMAIN]
    both = self_dealing_evidence(acme, same_laptop)
    assert both == [Evidence.SHARED_EMAIL_DOMAIN, Evidence.SHARED_DEVICE]
    assert self_dealing_verdict([]) is Verdict.ALLOW
    assert self_dealing_verdict([Evidence.SHARED_DEVICE]) is Verdict.FLAG
    assert self_dealing_verdict(both) is Verdict.REFUSE


def test_webmail_reserved_domains_and_private_addresses_are_no_evidence() -> None:
    for domain in ("gmail.com", "qq.com", "163.com", "example.com", "ring.test"):
        assert not names_an_organisation(domain), domain
    assert names_an_organisation("acme-corp.com")
    for address in ("127.0.0.1", "10.0.3.7", "192.168.1.2", "::1", "unknown"):
        assert not identifies_a_device(address), address
    assert identifies_a_device(OFFICE[0])


@pytest.fixture
async def office(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """Requests from one public address and browser: one device."""
    transport = httpx.ASGITransport(app=app, client=OFFICE)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gateway.test", headers={"user-agent": "Firefox/140"}
    ) as client:
        yield client


async def _flags(
    client: httpx.AsyncClient, users: Users, config: GatewayConfig, **params: str
) -> httpx.Response:
    return await client.get(
        "/v1/admin/flags", params=params, headers=admin_headers(users, config)[1]
    )


async def test_a_provider_at_the_owner_s_company_is_flagged_for_review(
    client: httpx.AsyncClient, fakes: FakeServices, users: Users, config: GatewayConfig
) -> None:
    owner, _ = await register(client, "party_a", "boss@acme-corp.com")
    provider, b = await register(client, "party_b", "worker@acme-corp.com")
    fakes.task_owner = owner
    taken = await client.post(f"/v1/tasks/{TASK_ID}/orders", headers=b)
    assert taken.status_code == 201, taken.text  # one sign: the order goes ahead
    listed = await _flags(client, users, config)
    assert listed.status_code == 200, listed.text
    (flag,) = listed.json()["items"]
    assert flag["verdict"] == "flag"
    assert flag["evidence"] == ["shared_email_domain"]
    assert (UUID(flag["owner_id"]), UUID(flag["provider_id"])) == (owner, provider)
    assert flag["task_id"] == TASK_ID
    assert (await client.get("/v1/admin/flags", headers=b)).status_code == 403


async def test_the_owner_taking_its_own_task_from_its_own_device_is_refused(
    office: httpx.AsyncClient, fakes: FakeServices, users: Users, config: GatewayConfig
) -> None:
    owner, _ = await register(office, "party_a", "boss@acme-corp.com")
    _, b = await register(office, "party_b", "alt@acme-corp.com")
    fakes.task_owner = owner
    refused = await office.post(f"/v1/tasks/{TASK_ID}/orders", headers=b)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "self_dealing_suspected"
    assert f"POST /tasks/{TASK_ID}/orders" not in fakes.paths()
    (flag,) = (await _flags(office, users, config)).json()["items"]
    assert flag["verdict"] == "refuse"
    assert set(flag["evidence"]) == {"shared_email_domain", "shared_device"}


async def test_webmail_is_no_evidence_and_a_shared_device_alone_is_flagged(
    office: httpx.AsyncClient, fakes: FakeServices, users: Users, config: GatewayConfig
) -> None:
    owner, _ = await register(office, "party_a", "alice@gmail.com")
    _, b = await register(office, "party_b", "bob@gmail.com")
    fakes.task_owner = owner
    assert (await office.post(f"/v1/tasks/{TASK_ID}/orders", headers=b)).status_code == 201
    (flag,) = (await _flags(office, users, config)).json()["items"]
    assert (flag["verdict"], flag["evidence"]) == ("flag", ["shared_device"])


async def test_unrelated_parties_are_not_flagged(
    client: httpx.AsyncClient, fakes: FakeServices, users: Users, config: GatewayConfig
) -> None:
    owner, _ = await register(client, "party_a", "carol@acme-corp.com")
    _, b = await register(client, "party_b", "dan@gmail.com")
    fakes.task_owner = owner
    assert (await client.post(f"/v1/tasks/{TASK_ID}/orders", headers=b)).status_code == 201
    assert (await _flags(client, users, config)).json()["items"] == []


async def test_the_queue_is_paged_newest_first(
    client: httpx.AsyncClient, fakes: FakeServices, users: Users, config: GatewayConfig
) -> None:
    owner, _ = await register(client, "party_a", "boss@acme-corp.com")
    fakes.task_owner = owner
    for n in range(3):
        _, b = await register(client, "party_b", f"worker{n}@acme-corp.com")
        assert (await client.post(f"/v1/tasks/{TASK_ID}/orders", headers=b)).status_code == 201
    first = (await _flags(client, users, config, limit="2")).json()
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    rest = (await _flags(client, users, config, limit="2", cursor=first["next_cursor"])).json()
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    times = [f["created_at"] for f in first["items"] + rest["items"]]
    assert times == sorted(times, reverse=True)
    bad = await _flags(client, users, config, cursor="not-a-cursor")
    assert bad.status_code == 400


async def test_admins_read_the_owners_whose_rejection_rate_is_far_above_the_norm(
    client: httpx.AsyncClient, fakes: FakeServices, users: Users, config: GatewayConfig
) -> None:
    _, a = await register(client, "party_a")
    assert (await client.get("/v1/admin/flags/rejection-rates", headers=a)).status_code == 403
    admin_id, admin = admin_headers(users, config)
    answer = await client.get("/v1/admin/flags/rejection-rates", headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()[0]["owner_id"] == str(fakes.task_owner)
    assert fakes.calls[-1][:3] == ("GET", "/internal/rejection-outliers", str(admin_id))
