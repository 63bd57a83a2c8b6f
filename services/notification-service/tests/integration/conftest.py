"""Fixtures for notification-service integration tests: the service on a real port, a webhook
receiver on a real socket, and the context services stood in for by their public events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer

from ring_events.base import IntegrationEvent
from ring_events.envelope import Envelope, encode_envelope
from ring_notification.config import NotificationConfig
from ring_notification.main import create_app
from ring_runtime.embedded import free_port
from ring_runtime.settings import Settings
from ring_runtime.testing import actor_headers, settings_for


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
    """Headers of a request made by ``user_id`` (the gateway's signed assertion)."""
    return actor_headers(user_id)


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
