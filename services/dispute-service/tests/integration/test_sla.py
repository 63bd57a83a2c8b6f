"""Dispute life on the service alone: SLA escalation, overdue flag, restarts, refusals."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from uuid import UUID, uuid4

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer
from litestar.testing import AsyncTestClient

from ring_dispute.config import DisputeConfig
from ring_dispute.main import DisputeParts, create_app
from ring_dispute.queue import ESCALATE
from ring_events.topics import DISPUTE_EVENTS
from ring_runtime.blobs import FileSystemBlobStore
from ring_runtime.identity import ADMIN, PARTY_B
from ring_runtime.settings import Settings
from ring_runtime.timers import ManualClock

from .conftest import actor, seed_order

pytestmark = pytest.mark.integration


async def _open(client: AsyncTestClient, order_id: UUID, who: UUID) -> UUID:  # type: ignore[type-arg]
    created = await client.post(
        f"/orders/{order_id}/disputes",
        json={"category": "unfair_rejection", "reason": "The work meets the criteria."},
        headers=actor(who),
    )
    assert created.status_code == 201, created.text
    return UUID(created.json()["id"])


async def _types(bootstrap: str, key: str, count: int) -> list[str]:
    consumer = AIOKafkaConsumer(
        DISPUTE_EVENTS, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[str] = []
    try:
        while len(found) < count:
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, f"only {found} arrived"
            for records in batch.values():
                found += [
                    msgspec.json.decode(r.value)["type"]
                    for r in records
                    if r.key is not None and r.key.decode() == key
                ]
    finally:
        await consumer.stop()
    return found


async def test_no_response_escalates_once_across_a_restart_then_overdue(
    dispute_settings: Settings,
    config: DisputeConfig,
    clock: ManualClock,
    blobs: FileSystemBlobStore,
) -> None:
    owner, provider, admin = uuid4(), uuid4(), uuid4()
    first = create_app(dispute_settings, config=config, clock=clock, blobs=blobs)
    order_id = seed_order(dispute_settings, owner, provider, status="rejected")
    async with AsyncTestClient(first) as client:
        dispute_id = await _open(client, order_id, provider)
        parts: DisputeParts = first.state.dispute_parts
        parts.follower.catch_up()
        due = parts.timers.pending(ESCALATE, dispute_id)
        assert due == clock.now() + timedelta(days=5)
        clock.advance(timedelta(days=5) - timedelta(seconds=1))
        assert parts.timers.fire_due() == 0

    second = create_app(dispute_settings, config=config, clock=clock, blobs=blobs)
    async with AsyncTestClient(second) as client:
        parts = second.state.dispute_parts
        assert parts.timers.pending(ESCALATE, dispute_id) == due, "the restart lost the timer"
        clock.advance(timedelta(seconds=1))
        assert parts.timers.fire_due() == 1
        assert parts.timers.fire_due() == 0
        view = (await client.get(f"/disputes/{dispute_id}", headers=actor(owner))).json()
        assert (view["status"], view["escalated_automatically"]) == ("arbitration", True)
        assert view["overdue"] is False

        queue = (
            await client.get(
                "/admin/disputes", params={"status": "arbitration"}, headers=actor(uuid4(), ADMIN)
            )
        ).json()
        assert [e["id"] for e in queue["items"]] == [str(dispute_id)]
        assert queue["items"][0]["overdue"] is False
        clock.advance(timedelta(days=3, seconds=1))
        overdue = (
            await client.get(
                "/admin/disputes", params={"overdue": "true"}, headers=actor(uuid4(), ADMIN)
            )
        ).json()
        assert [(e["id"], e["overdue"]) for e in overdue["items"]] == [(str(dispute_id), True)]
        on_time = (
            await client.get(
                "/admin/disputes", params={"overdue": "false"}, headers=actor(uuid4(), ADMIN)
            )
        ).json()
        assert on_time == {"items": [], "next_cursor": None}
        detail = (
            await client.get(f"/admin/disputes/{dispute_id}", headers=actor(uuid4(), ADMIN))
        ).json()
        assert detail["overdue"] is True

        resolved = await client.post(
            f"/admin/disputes/{dispute_id}/resolve",
            json={"outcome": "split", "provider_share_percent": 60},
            headers=actor(admin, ADMIN),
        )
        assert resolved.status_code == 200, resolved.text
        body = resolved.json()
        assert (body["status"], body["outcome"], body["provider_share_percent"]) == (
            "resolved",
            "split",
            60,
        )
        assert body["resolved_by"] == str(admin)
        again = await client.post(
            f"/orders/{order_id}/disputes",
            json={"category": "other", "reason": "once more"},
            headers=actor(owner),
        )
        assert (again.status_code, again.json()["error"]["code"]) == (409, "order_not_disputable")
        types = await _types(dispute_settings.kafka_bootstrap, str(dispute_id), 3)
    assert types == ["dispute.opened.v1", "dispute.escalated.v1", "dispute.resolved.v1"]


async def test_exchange_evidence_arbitration_on_request_and_refusals(
    dispute_settings: Settings,
    config: DisputeConfig,
    clock: ManualClock,
    blobs: FileSystemBlobStore,
) -> None:
    owner, provider, outsider = uuid4(), uuid4(), uuid4()
    app = create_app(dispute_settings, config=config, clock=clock, blobs=blobs)
    order_id = seed_order(dispute_settings, owner, provider, status="submitted")
    working = seed_order(dispute_settings, owner, provider, status="in_progress")
    async with AsyncTestClient(app) as client:
        not_yet = await client.post(
            f"/orders/{working}/disputes", json={"reason": "x"}, headers=actor(owner)
        )
        assert (not_yet.status_code, not_yet.json()["error"]["code"]) == (
            409,
            "order_not_disputable",
        )
        stranger = await client.post(
            f"/orders/{order_id}/disputes", json={"reason": "x"}, headers=actor(outsider)
        )
        assert stranger.status_code == 404
        dispute_id = await _open(client, order_id, owner)
        second = await client.post(
            f"/orders/{order_id}/disputes",
            json={"reason": "again"},
            headers=actor(provider, PARTY_B),
        )
        assert (second.status_code, second.json()["error"]["code"]) == (
            409,
            "dispute_already_open",
        )

        for path, body in [
            ("", None),
            ("/responses", {"statement": "x"}),
            ("/evidence", {"statement": "x"}),
            ("/withdraw", None),
            ("/arbitration", None),
        ]:
            if body is None and path == "":
                response = await client.get(f"/disputes/{dispute_id}", headers=actor(outsider))
            else:
                response = await client.post(
                    f"/disputes/{dispute_id}{path}", json=body, headers=actor(outsider)
                )
            assert response.status_code == 404, (path, response.text)
            assert response.json()["error"]["code"] == "dispute_not_found"

        early = await client.post(f"/disputes/{dispute_id}/arbitration", headers=actor(owner))
        assert early.status_code == 409  # the other side has not spoken yet
        own = await client.post(
            f"/disputes/{dispute_id}/responses", json={"statement": "x"}, headers=actor(owner)
        )
        assert (own.status_code, own.json()["error"]["code"]) == (403, "not_respondent")
        answered = await client.post(
            f"/disputes/{dispute_id}/responses",
            json={"statement": "All 100 images are labelled."},
            headers=actor(provider, PARTY_B),
        )
        assert answered.status_code == 200, answered.text
        digest = "ab" * 32
        for who, statement, sha in [
            (owner, "Images 40-60 have no boxes.", None),
            (provider, "Tool export attached.", digest),
        ]:
            added = await client.post(
                f"/disputes/{dispute_id}/evidence",
                json={"statement": statement, "sha256": sha},
                headers=actor(who),
            )
            assert added.status_code == 200, added.text
        upload = await client.post(
            f"/disputes/{dispute_id}/evidence/files",
            files=[("file", ("export.csv", b"image,boxes\n1,4\n", "text/csv"))],
            data={"statement": "Labelling tool export."},
            headers=actor(provider, PARTY_B),
        )
        assert upload.status_code == 201, upload.text
        stored = upload.json()["evidence"][-1]["sha256"]
        assert stored == hashlib.sha256(b"image,boxes\n1,4\n").hexdigest()
        for path, headers in [
            (f"/disputes/{dispute_id}/files/{stored}", actor(owner)),
            (f"/admin/disputes/{dispute_id}/files/{stored}", actor(uuid4(), ADMIN)),
        ]:
            download = await client.get(path, headers=headers)
            assert (download.status_code, download.content) == (200, b"image,boxes\n1,4\n")
        for path, headers in [
            (f"/disputes/{dispute_id}/files/{stored}", actor(outsider)),
            (f"/disputes/{dispute_id}/files/{'cd' * 32}", actor(owner)),
        ]:
            assert (await client.get(path, headers=headers)).status_code == 404
        not_opener = await client.post(
            f"/disputes/{dispute_id}/withdraw", headers=actor(provider, PARTY_B)
        )
        assert (not_opener.status_code, not_opener.json()["error"]["code"]) == (403, "not_opener")
        asked = await client.post(
            f"/disputes/{dispute_id}/arbitration", headers=actor(provider, PARTY_B)
        )
        assert asked.status_code == 200, asked.text
        view = asked.json()
        assert (view["status"], view["escalated_automatically"]) == ("arbitration", False)
        assert view["arbitration_due"] is not None
        assert [(e["role"], e["sha256"]) for e in view["evidence"]] == [
            ("owner", None),
            ("provider", digest),
            ("provider", stored),
        ]
        bad = await client.post(
            f"/admin/disputes/{dispute_id}/resolve",
            json={"outcome": "split", "provider_share_percent": 100},
            headers=actor(uuid4(), ADMIN),
        )
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_outcome")
        withdrawn = await client.post(f"/disputes/{dispute_id}/withdraw", headers=actor(owner))
        assert withdrawn.status_code == 200, withdrawn.text
        assert withdrawn.json()["status"] == "withdrawn"
        late = await client.post(
            f"/admin/disputes/{dispute_id}/resolve",
            json={"outcome": "release"},
            headers=actor(uuid4(), ADMIN),
        )
        assert late.status_code == 409
        reopened = await _open(client, order_id, provider)  # withdrawn: the order may be disputed
        assert reopened != dispute_id
        parts: DisputeParts = app.state.dispute_parts
        parts.follower.catch_up()
        assert parts.timers.pending(ESCALATE, dispute_id) is None
        assert parts.timers.pending(ESCALATE, reopened) is not None
