"""Fixtures for notification-service integration tests: the service on a real port, a webhook
receiver on a real socket, and the context services stood in for by their public events."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer

from ring_events.base import IntegrationEvent
from ring_events.envelope import Envelope, encode_envelope
from ring_events.notifications import SIGNATURE_HEADER, verify_signature
from ring_notification.config import NotificationConfig
from ring_notification.main import create_app
from ring_runtime.embedded import free_port
from ring_runtime.settings import Settings
from ring_runtime.testing import settings_for


@pytest.fixture
def notification_settings(postgres_url: str, kafka_bootstrap: str, db_schema: str) -> Settings:
    """Settings of a notification service on this test's schema and a free port."""
    return settings_for(
        "notification",
        postgres_url,
        kafka_bootstrap,
        db_schema,
        RING_HTTP_PORT=str(free_port()),
        RING_WEBHOOK_FIRST_RETRY_MS="100",
        RING_WEBHOOK_MAX_RETRY_MS="400",
        RING_WEBHOOK_POLL_INTERVAL_MS="50",
        RING_WEBHOOK_TIMEOUT_MS="2000",
    )


def fast_config(**environ: str) -> NotificationConfig:
    """Quick retries (100 ms doubling to 400 ms), development mode unless told otherwise."""
    return NotificationConfig.from_environ(
        {
            "RING_WEBHOOK_FIRST_RETRY_MS": "100",
            "RING_WEBHOOK_MAX_RETRY_MS": "400",
            "RING_WEBHOOK_POLL_INTERVAL_MS": "50",
            "RING_WEBHOOK_TIMEOUT_MS": "2000",
            **environ,
        }
    )


@asynccontextmanager
async def running(
    settings: Settings, config: NotificationConfig, **kwargs: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The notification service served by uvicorn on its port; yields a client of it."""
    app = create_app(settings, config=config, **kwargs)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=settings.http_port,
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while not server.started:
            assert not task.done(), "the notification service did not start"
            assert asyncio.get_running_loop().time() < deadline, _stacks("start")
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{settings.http_port}", timeout=10
        ) as client:
            yield client
    finally:
        server.should_exit = True
        done, _ = await asyncio.wait([task], timeout=60)
        assert done, _stacks("stop")


def _stacks(phase: str) -> str:
    """Where every task waits (shown when the service does not start or stop in time)."""
    lines = [f"the notification service did not {phase} within 60 s; tasks:"]
    for task in asyncio.all_tasks():
        frames = task.get_stack(limit=6)
        where = " <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in reversed(frames))
        lines.append(f"{task.get_name()}: {where}")
    return "\n".join(lines)


def actor(user_id: UUID) -> dict[str, str]:
    """Headers of a request made by ``user_id`` (what the gateway sets)."""
    return {"X-Ring-Actor": str(user_id)}


@dataclass
class Received:
    """One request the receiver got."""

    body: bytes
    signature: str
    at: float


class Receiver:
    """A webhook receiver on a real socket that answers from a script of status codes.

    ``answers`` are used one per request; after they run out every request gets 200.
    """

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.requests: list[Received] = []
        self.secrets: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        Received(body, self.headers.get(SIGNATURE_HEADER, ""), time_now())
                    )
                    status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every received notification, each checked against its signature (asserted)."""
        with self._lock:
            requests = list(self.requests)
        out = []
        for request in requests:
            assert verify_signature(secret, request.signature, request.body, now=int(request.at))
            out.append(httpx.Response(200, content=request.body).json())
        return out


def time_now() -> float:
    return datetime.now(UTC).timestamp()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running_receiver:
        yield running_receiver


@dataclass
class Upstream:
    """Envelopes numbered as a context's outbox relay numbers them (per topic)."""

    last_id: dict[str, int] = field(default_factory=dict)
    last_of: dict[tuple[str, str], int] = field(default_factory=dict)

    def envelope(self, topic: str, key: UUID, event: IntegrationEvent) -> Envelope:
        number = self.last_id.get(topic, 0) + 1
        self.last_id[topic] = number
        previous = self.last_of.get((topic, str(key)), 0)
        self.last_of[(topic, str(key))] = number
        return Envelope(
            event=event,
            topic=topic,
            key=str(key),
            notification_id=number,
            previous_notification_id=previous,
            event_id=str(uuid4()),
            occurred_at=event.occurred_at,
            correlation_id=str(uuid4()),
            causation_id=str(uuid4()),
            source=topic.split(".")[1],
        )


async def publish(bootstrap: str, envelopes: list[Envelope]) -> None:
    """Produce ``envelopes`` on their topics in the wire form the relays use."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for envelope in envelopes:
            key, value, headers = encode_envelope(envelope)
            await producer.send_and_wait(envelope.topic, value, key=key, headers=headers)
    finally:
        await producer.stop()
