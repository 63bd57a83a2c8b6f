"""Webhooks end to end inside the service: real PostgreSQL, real broker, real sockets.

The context services are stood in for by their public events on the broker; receivers are
HTTP servers on real sockets; the service runs under uvicorn on its own port.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import uuid4

import httpx
import pytest

from ring_events.notifications import PAYLOAD_VERSION
from ring_runtime.settings import Settings
from ring_runtime.testing import eventually
from ring_runtime.testing.webhooks import WebhookReceiver as Receiver

from .conftest import Upstream, actor, fast_config, publish, running
from .lifecycle import OWNER_TYPES, PROVIDER_TYPES, Lifecycle

pytestmark = pytest.mark.integration


async def create_webhook(
    client: httpx.AsyncClient, party: Any, url: str, **fields: Any
) -> dict[str, Any]:
    answer = await client.post("/webhooks", json={"url": url, **fields}, headers=actor(party))
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    assert created["secret"].startswith("whsec_")
    return created


def in_source_order(types: list[str], expected: list[str]) -> bool:
    """Whether ``types`` holds exactly ``expected`` with the order events in lifecycle order
    (events of different topics may interleave)."""
    orders = [t for t in types if t.startswith("order.")]
    return Counter(types) == Counter(expected) and orders == [
        t for t in expected if t.startswith("order.")
    ]


async def test_each_party_receives_exactly_its_own_events_signed_and_retried(
    notification_settings: Settings,
) -> None:
    owner, provider, stranger = uuid4(), uuid4(), uuid4()
    upstream = Upstream()
    with (
        Receiver(answers=[500, 500]) as owner_hook,
        Receiver() as provider_hook,
        Receiver() as stranger_hook,
    ):
        async with running(notification_settings, fast_config()) as client:
            a = await create_webhook(client, owner, owner_hook.url)
            b = await create_webhook(client, provider, provider_hook.url)
            c = await create_webhook(client, stranger, stranger_hook.url)
            sent = Lifecycle(owner, provider).envelopes(upstream)
            await publish(notification_settings.kafka_bootstrap, sent)

            async def all_delivered() -> bool:
                return len({n["id"] for n in owner_hook.verified(a["secret"])}) == len(
                    OWNER_TYPES
                ) and len(provider_hook.verified(b["secret"])) == len(PROVIDER_TYPES)

            await eventually(all_delivered, within=60)
            owner_seen = owner_hook.verified(a["secret"])
            # Retries and parallel sends reorder arrivals; ``sequence`` restores the feed order.
            unique = sorted({n["id"]: n for n in owner_seen}.values(), key=lambda n: n["sequence"])
            assert in_source_order([n["type"] for n in unique], OWNER_TYPES)
            provider_seen = sorted(provider_hook.verified(b["secret"]), key=lambda n: n["sequence"])
            assert in_source_order([n["type"] for n in provider_seen], PROVIDER_TYPES)
            assert all(n["party_id"] == str(owner) for n in owner_seen)
            assert all(n["version"] == PAYLOAD_VERSION for n in owner_seen)
            assert {n["sequence"] for n in unique} == set(range(1, len(OWNER_TYPES) + 1))
            assert stranger_hook.requests == []

            # The two answers of 500 were retried: the log shows them with their status codes.
            # The receiver records a request before it answers and the notifier logs the
            # attempt after the answer, so the log may trail the receiver by a moment.
            async def deliveries() -> httpx.Response:
                return await client.get(
                    f"/webhooks/{a['id']}/deliveries", params={"limit": 100}, headers=actor(owner)
                )

            async def all_logged() -> bool:
                items = (await deliveries()).json()["items"]
                return sum(len(d["attempts"]) for d in items) >= len(OWNER_TYPES) + 2

            await eventually(all_logged, within=30)
            log = await deliveries()
            assert log.status_code == 200, log.text
            attempts = [x for d in log.json()["items"] for x in d["attempts"]]
            assert sorted(x["status_code"] for x in attempts) == [200] * len(OWNER_TYPES) + [
                500,
                500,
            ]
            assert all(d["status"] == "succeeded" for d in log.json()["items"])
            assert all(x["latency_ms"] >= 0 for x in attempts)
            # A stranger cannot read or touch another party's endpoint.
            assert (
                await client.get(f"/webhooks/{a['id']}", headers=actor(stranger))
            ).status_code == 404
            assert c["id"] != a["id"]


async def test_nothing_is_lost_across_a_restart_of_the_delivering_service(
    notification_settings: Settings,
) -> None:
    owner, provider = uuid4(), uuid4()
    upstream = Upstream()
    with Receiver(answers=[503] * 1000) as hook:
        async with running(notification_settings, fast_config()) as client:
            created = await create_webhook(client, owner, hook.url)
            await publish(
                notification_settings.kafka_bootstrap,
                Lifecycle(owner, provider).envelopes(upstream),
            )
            await eventually(lambda: _at_least(hook, 5), within=60)
        # The service is down; the receiver recovers meanwhile; more events arrive.
        hook.answer_ok()
        await publish(
            notification_settings.kafka_bootstrap, Lifecycle(owner, provider).envelopes(upstream)
        )
        async with running(notification_settings, fast_config()):

            async def everything() -> bool:
                ids = {n["id"] for n in hook.verified(created["secret"])}
                return len(ids) >= 2 * len(OWNER_TYPES)

            await eventually(everything, within=60)
        received = hook.verified(created["secret"])
        assert Counter(n["type"] for n in {n["id"]: n for n in received}.values()) == Counter(
            OWNER_TYPES * 2
        )


async def _at_least(hook: Receiver, count: int) -> bool:
    return len(hook.requests) >= count


async def test_an_endpoint_that_keeps_failing_is_disabled_with_a_notice(
    notification_settings: Settings,
) -> None:
    owner, provider = uuid4(), uuid4()
    config = fast_config(
        RING_WEBHOOK_DISABLE_AFTER_FAILURES="3", RING_WEBHOOK_DISABLE_AFTER_HOURS="0"
    )
    with Receiver(answers=[500] * 1000) as failing, Receiver() as healthy:
        async with running(notification_settings, config) as client:
            broken = await create_webhook(
                client, owner, failing.url, event_types=["task.published"]
            )
            notices = await create_webhook(
                client, owner, healthy.url, event_types=["webhook_endpoint.disabled"]
            )
            await publish(
                notification_settings.kafka_bootstrap,
                Lifecycle(owner, provider).envelopes(Upstream()),
            )

            async def disabled() -> dict[str, Any] | None:
                answer = await client.get(f"/webhooks/{broken['id']}", headers=actor(owner))
                body: dict[str, Any] = answer.json()
                return body if body["status"] == "disabled" else None

            endpoint = await eventually(disabled, within=30)
            assert "3 attempts in a row failed" in endpoint["disabled_reason"]
            assert len(failing.requests) == 3
            await eventually(lambda: _at_least(healthy, 1))
            (notice,) = healthy.verified(notices["secret"])
            assert notice["type"] == "webhook_endpoint.disabled"
            assert notice["data"]["endpoint_id"] == broken["id"]
            # Re-enabled, the pending delivery resumes and gets through.
            failing.answer_ok()
            enabled = await client.patch(
                f"/webhooks/{broken['id']}", json={"enabled": True}, headers=actor(owner)
            )
            assert enabled.json()["status"] == "enabled"
            await eventually(lambda: _at_least(failing, 4))
            (delivery,) = (
                await client.get(f"/webhooks/{broken['id']}/deliveries", headers=actor(owner))
            ).json()["items"]
            await eventually(lambda: _delivered(client, owner, broken["id"]))
            # A manual redelivery sends it once more, with the same event id.
            redelivered = await client.post(
                f"/webhooks/{broken['id']}/deliveries/{delivery['id']}/redeliver",
                headers=actor(owner),
            )
            assert redelivered.status_code == 202
            await eventually(lambda: _at_least(failing, 5))
            ids = [n["id"] for n in failing.verified(broken["secret"])]
            assert len(set(ids)) == 1


async def _delivered(client: httpx.AsyncClient, owner: Any, endpoint: str) -> bool:
    items = (await client.get(f"/webhooks/{endpoint}/deliveries", headers=actor(owner))).json()
    return all(d["status"] == "succeeded" for d in items["items"])


async def test_a_rotated_secret_overlaps_its_successor(notification_settings: Settings) -> None:
    owner, provider = uuid4(), uuid4()
    with Receiver() as hook:
        async with running(notification_settings, fast_config()) as client:
            created = await create_webhook(client, owner, hook.url, event_types=["task.published"])
            rotated = await client.post(
                f"/webhooks/{created['id']}/secret/rotate",
                json={"overlap_seconds": 3600},
                headers=actor(owner),
            )
            assert rotated.status_code == 200, rotated.text
            new_secret = rotated.json()["secret"]
            assert new_secret != created["secret"]
            await publish(
                notification_settings.kafka_bootstrap,
                Lifecycle(owner, provider).envelopes(Upstream()),
            )
            await eventually(lambda: _at_least(hook, 1))
            # Both the old and the new secret verify the same delivery during the overlap.
            assert len(hook.verified(created["secret"])) == len(hook.verified(new_secret)) == 1
            listed = (await client.get("/webhooks", headers=actor(owner))).json()
            assert [w["secret_hint"] for w in listed["items"]] == ["…" + new_secret[-4:]]
            assert "secret" not in listed["items"][0]


#: Targets production mode must refuse (the resolver below plays DNS).
UNSAFE = [
    "http://hooks.example.com/ring",  # not https
    "https://127.0.0.1/ring",  # loopback
    "https://localhost/ring",
    "https://10.1.2.3/ring",  # private
    "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
    "https://[::1]/ring",
    "https://internal.example.com/ring",  # resolves to a private address
]


async def test_production_refuses_unsafe_targets(notification_settings: Settings) -> None:
    resolved = {
        "hooks.example.com": ["93.184.216.34"],
        "internal.example.com": ["10.0.0.7"],
        "localhost": ["127.0.0.1", "::1"],
    }

    def resolve(host: str) -> list[str]:
        return resolved.get(host, [host])

    config = fast_config(RING_ENV="production")
    owner = uuid4()
    async with running(notification_settings, config, resolve=resolve) as client:
        for url in UNSAFE:
            refused = await client.post("/webhooks", json={"url": url}, headers=actor(owner))
            assert refused.status_code == 422, (url, refused.text)
            assert refused.json()["error"]["code"] == "webhook_url_refused"
        allowed = await client.post(
            "/webhooks", json={"url": "https://hooks.example.com/ring"}, headers=actor(owner)
        )
        assert allowed.status_code == 201, allowed.text
        listed = (await client.get("/webhooks", headers=actor(owner))).json()["items"]
        assert [w["url"] for w in listed] == ["https://hooks.example.com/ring"]
