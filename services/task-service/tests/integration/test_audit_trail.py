"""``GET /internal/audit/{id}`` (ring_runtime.audit) on the task service's real event store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import UUID, uuid4

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer
from litestar.testing import AsyncTestClient

from ring_runtime.identity import ADMIN, PARTY_B
from ring_runtime.integrity import CHECKPOINT_TOPIC, Checkpoint, audit_keys
from ring_runtime.merkle import leaf_hash, verify_inclusion
from ring_runtime.settings import Settings
from ring_task.main import create_app
from ring_task.messages import conversation_id

from .conftest import actor, new_task

pytestmark = pytest.mark.integration


async def test_stored_events_of_any_aggregate_come_back_decoded(
    task_settings: Settings, owner: UUID, verified_provider: Callable[[], UUID]
) -> None:
    async with AsyncTestClient(create_app(task_settings)) as client:
        created = await client.post("/tasks", json=new_task(slots=1), headers=actor(owner))
        task_id = created.json()["id"]
        assert (await client.post(f"/tasks/{task_id}/publish", headers=actor(owner))).is_success
        await asyncio.to_thread(client.app.state.application.mark_funded, task_id)

        trail = await client.get(f"/internal/audit/{task_id}", headers=actor(uuid4(), ADMIN))
        assert trail.status_code == 200, trail.text
        body = trail.json()
        assert (body["aggregate_id"], body["service"], body["truncated"]) == (
            task_id,
            "task",
            False,
        )
        names = [e["name"] for e in body["events"]]
        assert names == ["Task.Created", "Task.PublishRequested", "Task.Published"]
        assert [e["version"] for e in body["events"]] == [1, 2, 3]
        first = body["events"][0]
        assert first["topic"].endswith("Task.Created")
        assert first["timestamp"]
        assert first["state"]["title"] == "Label 100 street images"
        assert first["state"]["owner_id"] == str(owner)

        provider = verified_provider()
        order = await client.post(f"/tasks/{task_id}/orders", headers=actor(provider, PARTY_B))
        order_id = order.json()["id"]
        sent = await client.post(
            f"/orders/{order_id}/messages", json={"body": "hello"}, headers=actor(provider, PARTY_B)
        )
        assert sent.status_code == 201, sent.text
        talk = (
            await client.get(
                f"/internal/audit/{conversation_id(UUID(order_id))}", headers=actor(uuid4(), ADMIN)
            )
        ).json()
        assert [e["name"] for e in talk["events"]] == [
            "Conversation.Started",
            "Conversation.MessagePosted",
        ]
        assert talk["events"][1]["state"]["body"] == "hello"

        unknown = await client.get(f"/internal/audit/{uuid4()}", headers=actor(uuid4(), ADMIN))
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "aggregate_not_found"


async def test_time_travel_context_and_correlations(task_settings: Settings, owner: UUID) -> None:
    """``?version=`` / ``?as_of=`` give the history and the state at that point; every event
    carries its correlation and causation ids; unknown parameters are refused."""
    correlation = f"trail-{uuid4()}"
    admin = actor(uuid4(), ADMIN)
    async with AsyncTestClient(create_app(task_settings)) as client:
        created = await client.post(
            "/tasks",
            json=new_task(slots=1),
            headers={**actor(owner), "X-Correlation-ID": correlation},
        )
        task_id = created.json()["id"]
        publish = await client.post(
            f"/tasks/{task_id}/publish", headers={**actor(owner), "X-Correlation-ID": correlation}
        )
        assert publish.is_success
        await asyncio.to_thread(client.app.state.application.mark_funded, task_id)

        full = (await client.get(f"/internal/audit/{task_id}", headers=admin)).json()
        assert full["state_at"] is None
        first, second, _published = full["events"]
        assert first["correlation_id"] == second["correlation_id"] == correlation
        assert first["causation_id"] != second["causation_id"]  # two requests
        assert (first["service"], first["aggregate_id"]) == ("task", task_id)

        at_two = (await client.get(f"/internal/audit/{task_id}?version=2", headers=admin)).json()
        assert [e["version"] for e in at_two["events"]] == [1, 2]
        assert at_two["state_at"]["status"] == "funding"
        as_of = (
            await client.get(
                f"/internal/audit/{task_id}", params={"as_of": first["timestamp"]}, headers=admin
            )
        ).json()
        assert [e["version"] for e in as_of["events"]] == [1]
        assert as_of["state_at"]["status"] == "draft"

        refused = await client.get(f"/internal/audit/{task_id}?verison=2", headers=admin)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "unknown_query_parameter"
        bad = await client.get(f"/internal/audit/{task_id}?version=zero", headers=admin)
        assert bad.json()["error"]["code"] == "invalid_query_parameter"

        correlated = (
            await client.get(
                "/internal/audit/correlations", params={"ids": correlation}, headers=admin
            )
        ).json()
        assert [(e["name"], e["version"]) for e in correlated["events"]] == [
            ("Task.Created", 1),
            ("Task.PublishRequested", 2),
            ("Task.Published", 3),  # funding names no correlation: it joins the task's
        ]


async def test_the_running_service_chains_its_events_and_proves_each_against_a_checkpoint(
    task_settings: Settings, owner: UUID, kafka_bootstrap: str
) -> None:
    """The chainer runs beside the API: checkpoints reach ``ring.audit.checkpoints`` and every
    event gets an inclusion proof that checks against the published checkpoint."""
    settings = msgspec.structs.replace(task_settings, audit_checkpoint_interval_ms=50)
    admin = actor(uuid4(), ADMIN)
    async with AsyncTestClient(create_app(settings)) as client:
        created = await client.post("/tasks", json=new_task(slots=1), headers=actor(owner))
        task_id = created.json()["id"]
        proof = None
        for _ in range(200):
            answer = await client.get(f"/internal/audit/proofs/{task_id}", headers=admin)
            if answer.status_code == 200:
                proof = answer.json()
                break
            assert answer.status_code in (404, 409), answer.text
            await asyncio.sleep(0.05)
        assert proof is not None, "no checkpoint covered the event within 10 s"
        assert proof["version"] == 1
        refused = await client.get(f"/internal/audit/proofs/{task_id}?v=1", headers=admin)
        assert refused.json()["error"]["code"] == "unknown_query_parameter"
        missing = await client.get(f"/internal/audit/proofs/{uuid4()}", headers=admin)
        assert missing.json()["error"]["code"] == "event_not_chained"

    consumer = AIOKafkaConsumer(
        CHECKPOINT_TOPIC, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        published: list[Checkpoint] = []
        deadline = asyncio.get_running_loop().time() + 10
        # This module's tests share the topic (each its own store): find this store's head.
        signed = (proof["checkpoint"]["size"], proof["checkpoint"]["root"])
        while not any((c.size, c.root) == signed for c in published):
            assert asyncio.get_running_loop().time() < deadline, "checkpoint never published"
            batches = await consumer.getmany(timeout_ms=500)
            published += [
                msgspec.json.decode(r.value, type=Checkpoint)
                for records in batches.values()
                for r in records
                if r.key == b"task"
            ]
    finally:
        await consumer.stop()
    mine = next(c for c in published if (c.size, c.root) == signed)
    verify_key = audit_keys(settings)[1]
    assert mine.valid(verify_key)
    data = "{aggregate_id}\n{version}\n{stored_topic}\n{state_sha256}".format(**proof).encode()
    path = [bytes.fromhex(p) for p in proof["path"]]
    assert verify_inclusion(
        leaf_hash(data), proof["leaf_index"], mine.size, path, bytes.fromhex(mine.root)
    )


async def test_a_task_lifecycle_keeps_one_correlation_id(
    task_settings: Settings, owner: UUID, verified_provider: Callable[[], UUID]
) -> None:
    """Requests without ``X-Correlation-ID`` join the task's lifecycle: creation, publication,
    funding (no request at all), the order taken and its progress share the correlation of the
    task's first event; a request that names a correlation keeps its own."""
    admin = actor(uuid4(), ADMIN)
    async with AsyncTestClient(create_app(task_settings)) as client:
        created = await client.post("/tasks", json=new_task(slots=1), headers=actor(owner))
        task_id = created.json()["id"]
        assert (await client.post(f"/tasks/{task_id}/publish", headers=actor(owner))).is_success
        await asyncio.to_thread(client.app.state.application.mark_funded, task_id)
        provider = verified_provider()
        order = await client.post(f"/tasks/{task_id}/orders", headers=actor(provider, PARTY_B))
        order_id = order.json()["id"]
        progress = await client.post(
            f"/orders/{order_id}/progress",
            json={"percent": 50, "note": "half"},
            headers=actor(provider, PARTY_B),
        )
        assert progress.is_success, progress.text
        named = await client.post(
            f"/orders/{order_id}/progress",
            json={"percent": 60, "note": "more"},
            headers={**actor(provider, PARTY_B), "X-Correlation-ID": "chosen-by-the-client"},
        )
        assert named.is_success, named.text

        task = (await client.get(f"/internal/audit/{task_id}", headers=admin)).json()["events"]
        lifecycle = task[0]["correlation_id"]
        assert {e["correlation_id"] for e in task} == {lifecycle}
        assert len({e["causation_id"] for e in task}) >= 3  # distinct requests and the funding
        acting = {e["name"]: e["actor"] for e in task}
        assert acting["Task.Created"] == acting["Task.PublishRequested"] == f"party_a:{owner}"
        assert acting["Task.Published"] is None  # the funding: the service itself
        orders = (await client.get(f"/internal/audit/{order_id}", headers=admin)).json()["events"]
        assert [e["correlation_id"] for e in orders] == [lifecycle] * (len(orders) - 1) + [
            "chosen-by-the-client"
        ]
        assert {e["actor"] for e in orders} == {f"party_b:{provider}"}
