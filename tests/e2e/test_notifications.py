"""Webhooks and the live event stream through the public API, every service an OS process.

A and B register webhooks (A's receiver answers 500 twice first) and a third party registers
one too; A watches the event stream. Then a whole lifecycle runs: publish, take, submit,
reject, resubmit, approve, settle — and the notification service is killed (SIGKILL) in the
middle and restarted by the supervisor. Each receiver gets exactly its party's notifications
(the same ones as the party's stream), every signature verifies, nothing is lost; the stream
shows every status change of the order in order, resuming with ``Last-Event-ID`` across the
restart without gaps.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from ring_runtime.settings import SERVICE_PORTS
from ring_runtime.testing import admin_create, served_by, wait_until
from ring_runtime.testing.webhooks import WebhookReceiver

from .test_core_loop import COMMISSION, Party, upload

# A whole lifecycle plus a restart of one service: more than the suite's default 300 s when
# the machine is busy (the platform alone may take 150 s to come up).
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

GATEWAY = f"http://127.0.0.1:{SERVICE_PORTS['gateway']}"

#: Status changes of an order rejected once, then approved and settled, as notifications.
ORDER_STEPS = [
    "order.taken",
    "order.accepted",
    "order.submitted",
    "order.rejected",
    "order.submitted",
    "order.approved",
    "order.settled",
]


class EventStream:
    """A party's ``GET /v1/events/stream`` read in a thread; it reconnects with
    ``Last-Event-ID`` whenever the connection ends, as a browser's EventSource does."""

    def __init__(self, party: Party) -> None:
        self.headers = dict(party.client.headers)
        self.events: list[dict[str, Any]] = []
        self.connections = 0
        self.failure: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> EventStream:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()

    @property
    def last_id(self) -> str | None:
        return str(self.events[-1]["sequence"]) if self.events else None

    def _read(self) -> None:
        try:
            self._follow()
        except BaseException as error:  # shown by the test's waits
            self.failure = error
            raise

    def _follow(self) -> None:
        while not self._stop.is_set():
            headers = dict(self.headers)
            if self.last_id is not None:
                headers["Last-Event-ID"] = self.last_id
            try:
                with httpx.stream(
                    "GET",
                    f"{GATEWAY}/v1/events/stream",
                    headers=headers,
                    timeout=httpx.Timeout(60, connect=5),
                ) as response:
                    if response.status_code != 200:
                        self._stop.wait(0.5)
                        continue
                    self.connections += 1
                    fields: dict[str, str] = {}
                    for line in response.iter_lines():
                        if self._stop.is_set():
                            return
                        if line == "":
                            if "id" in fields:
                                event = json.loads(fields["data"])
                                assert str(event["sequence"]) == fields["id"]
                                self.events.append(event)
                            fields = {}
                        elif not line.startswith(":"):
                            name, _, value = line.partition(":")
                            fields[name] = value.removeprefix(" ")
            except httpx.HTTPError:
                self._stop.wait(0.5)

    def order_steps(self, order_id: str) -> list[str]:
        return [e["type"] for e in self.events if e["data"].get("order_id") == order_id]


def notification_pid(platform: dict[str, str]) -> int:
    """The pid of this platform's notification service (found by its data directory)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            served_by(int(proc.name)) == "notification"
            and f"RING_DATA_DIR={platform['RING_DATA_DIR']}".encode() in environ
        ):
            return int(proc.name)
    raise AssertionError("the notification service process was not found")


def create_webhook(party: Party, url: str) -> dict[str, Any]:
    answer = party.client.post("/v1/webhooks", json={"url": url, "event_types": []})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def test_webhooks_and_stream_follow_a_lifecycle_across_a_restart(
    platform: dict[str, str],
) -> None:
    admin_email = f"admin-{uuid4().hex[:8]}@ring.test"
    admin_create(platform, admin_email, "correct horse 9!")
    admin = Party("admin", admin_email)
    a, b, stranger = Party("party_a"), Party("party_b"), Party("party_a")
    with (
        WebhookReceiver(answers=[500, 500]) as a_hook,
        WebhookReceiver() as b_hook,
        WebhookReceiver() as stranger_hook,
        EventStream(a) as a_stream,
    ):
        a_secret = create_webhook(a, a_hook.url)
        b_secret = create_webhook(b, b_hook.url)["secret"]
        create_webhook(stranger, stranger_hook.url)
        assert admin.client.post("/v1/webhooks", json={"url": a_hook.url}).status_code == 403
        listed = a.client.get("/v1/webhooks").json()["items"]
        assert [w["id"] for w in listed] == [a_secret["id"]]
        assert "secret" not in listed[0]

        deposit = a.client.post(
            "/v1/wallet/deposits",
            json={"amount_minor": 50_000, "currency": "CNY"},
            headers={"Idempotency-Key": str(uuid4())},
        )
        assert deposit.status_code in (200, 201), deposit.text
        task_id = a.client.post(
            "/v1/tasks",
            json={
                "title": "Transcribe 30 receipts",
                "deadline": "2030-01-01T00:00:00Z",
                "commission_minor": COMMISSION,
                "currency": "CNY",
                "slots": 1,
            },
        ).json()["id"]
        a.until("POST", f"/v1/tasks/{task_id}/publish", 202)
        b.client.post(
            "/v1/providers/me/qualifications",
            json={"kind": "certificate", "reference": "C-9", "skills": ["transcription"]},
        )
        admin.until("POST", f"/v1/admin/providers/{b.id}/verify", 200)
        order_id = b.until("POST", f"/v1/tasks/{task_id}/orders", 201).json()["id"]
        first = upload(b, order_id, seed=21)
        wait_until(
            lambda: "order.submitted" in a_stream.order_steps(order_id),
            what=lambda: f"A sees the submission ({a_stream.failure!r}, {a_stream.events})",
        )

        # The delivering service dies mid-lifecycle; the supervisor starts it again.
        os.kill(notification_pid(platform), signal.SIGKILL)
        a.until("POST", f"/v1/vouchers/{first}/reject", 200, json={"reason": "blurry"})
        second = upload(b, order_id, seed=22)
        a.until("POST", f"/v1/vouchers/{second}/approve", 200)
        wait_until(
            lambda: a_stream.order_steps(order_id) == ORDER_STEPS,
            within=120,
            what=lambda: (
                f"A's stream shows {a_stream.order_steps(order_id)} ({a_stream.failure!r})"
            ),
        )
        assert a_stream.connections >= 2  # it was cut by the restart and resumed

        # The stream: gapless, no repeats, every status change of the order in order.
        sequences = [e["sequence"] for e in a_stream.events]
        assert sequences == list(range(1, len(sequences) + 1))
        assert all(e["party_id"] == a.id for e in a_stream.events)

        # The webhooks: exactly the party's notifications (those of its stream), all signed.
        def a_received() -> set[str]:
            return {n["id"] for n in a_hook.verified(a_secret["secret"])}

        streamed = {e["id"] for e in a_stream.events}
        wait_until(lambda: a_received() == streamed, within=120, what="A's webhook caught up")
        b_feed = b.client.get("/v1/webhooks").json()["items"]
        assert len(b_feed) == 1
        b_seen = b_hook.verified(b_secret)
        assert all(n["party_id"] == b.id for n in b_seen)

        def b_order_steps() -> list[str]:
            # Retries and parallel sends reorder arrivals: ``sequence`` is the feed's order.
            unique = {n["id"]: n for n in b_hook.verified(b_secret)}.values()
            ordered = sorted(unique, key=lambda n: n["sequence"])
            return [n["type"] for n in ordered if n["data"].get("order_id") == order_id]

        wait_until(
            lambda: b_order_steps() == ORDER_STEPS,
            within=120,
            what=lambda: f"B's webhook got every step of its order: {b_order_steps()}",
        )
        assert stranger_hook.requests == []

        # A's first two deliveries were answered 500 and retried: the log shows it. A delivery
        # in flight when the service was killed is sent again once its lease ends (at least
        # once), so every delivery ends up succeeded.
        def a_log() -> list[dict[str, Any]]:
            log = a.client.get(f"/v1/webhooks/{a_secret['id']}/deliveries", params={"limit": 100})
            assert log.status_code == 200, log.text
            items: list[dict[str, Any]] = log.json()["items"]
            return items

        wait_until(
            lambda: all(d["status"] == "succeeded" for d in a_log()),
            within=120,
            what=lambda: f"every delivery to A succeeded: {a_log()}",
        )
        codes = [x["status_code"] for d in a_log() for x in d["attempts"]]
        assert codes.count(500) == 2

        # Reconnecting with Last-Event-ID resumes right after it.
        with httpx.stream(
            "GET",
            f"{GATEWAY}/v1/events/stream",
            headers={**a.client.headers, "Last-Event-ID": "2"},
            timeout=30,
        ) as resumed:
            assert resumed.status_code == 200
            assert resumed.headers["content-type"].startswith("text/event-stream")
            ids = []
            for line in resumed.iter_lines():
                if line.startswith("id:"):
                    ids.append(int(line.removeprefix("id:")))
                if len(ids) == 3:
                    break
        assert ids == [3, 4, 5]
        assert b.client.get("/v1/events/stream", headers={"Last-Event-ID": "x"}).status_code == 400
