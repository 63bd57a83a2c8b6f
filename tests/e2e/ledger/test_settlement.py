"""Settlement and refunds through the SettlementSaga, end to end with the task service."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from httpx import AsyncClient
from litestar.testing import AsyncTestClient

from ring_events.topics import TASK_EVENTS
from ring_runtime.embedded import free_port
from ring_runtime.identity import ADMIN
from ring_runtime.settings import Settings
from ring_runtime.testing import TEST_KAFKA_TIMINGS, eventually
from ring_task.main import create_app as create_task_app

from .conftest import actor, approved_order, create_and_publish, deposit, task_status, wallet

pytestmark = [pytest.mark.integration, pytest.mark.kafka_lane]

COMMISSION, FEE = 10_000, 500
SLOT = COMMISSION + FEE


async def test_cancellation_refunds_exactly_the_unused_part(
    services: tuple[AsyncClient, AsyncClient], verify_provider: Callable[[UUID], None]
) -> None:
    ledger, tasks = services
    owner, provider = uuid4(), uuid4()
    verify_provider(provider)
    await deposit(ledger, owner, 40_000)
    task_id = await create_and_publish(tasks, owner, slots=3)
    await eventually(lambda: task_status(tasks, task_id, "published"))
    order_id = await approved_order(tasks, task_id, owner, provider)
    await eventually(lambda: _order_status(tasks, order_id, owner, "settled"))
    assert await wallet(ledger, provider) == (COMMISSION, 0)

    cancelled = await tasks.post(f"/tasks/{task_id}/cancel", headers=actor(owner))
    assert cancelled.status_code == 200, cancelled.text

    async def refunded() -> bool:
        return await wallet(ledger, owner) == (40_000 - SLOT, 0)

    await eventually(refunded)  # 2 unused slots x 10 500 came back, nothing else
    assert await wallet(ledger, provider) == (COMMISSION, 0)


class LedgerProcess:
    """The ledger service as an OS process (``python -m ring_runtime.commands.serve ledger``)."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            "RING_DATABASE_URL": settings.database_url,
            "RING_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "RING_DB_SCHEMA": settings.db_schema,
            "RING_HTTP_PORT": str(self.port),
            # as quick to relay and to rejoin its group as the in-process services
            "RING_RELAY_POLL_INTERVAL_MS": str(settings.relay_poll_interval_ms),
            "RING_RELAY_LOSS_CHECK_INTERVAL_MS": str(settings.relay_loss_check_interval_ms),
            **TEST_KAFKA_TIMINGS,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    async def start(self) -> None:
        """Start the process and wait until it is ready."""
        self.process = await asyncio.to_thread(self._spawn)
        # A cold interpreter imports the whole service first: on a loaded 2-core machine beside a
        # JVM broker that alone once took over 30 s (the log still empty).
        await eventually(self._ready, within=90, every=0.2)

    def _spawn(self) -> subprocess.Popen[bytes]:
        self.starts += 1
        with (self.log_dir / f"ledger-{self.starts}.log").open("wb") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "ring_runtime.commands.serve", "ledger"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def _ready(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, "the ledger process died; see its log"
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{self.url}/ready", timeout=2)).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flush, no offset commit."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    async def consumer_stats(self) -> dict[str, int]:
        """The SettlementSaga consumer's counters of the running process."""
        async with httpx.AsyncClient() as client:
            ready = (await client.get(f"{self.url}/ready", timeout=2)).json()
        stats: dict[str, int] = ready["consumers"]["settlement-saga"]
        return stats


@pytest.fixture
def ledger_process(ledger_settings: Settings, tmp_path: Path) -> Iterator[LedgerProcess]:
    """A ledger OS process (started by the test), killed at the end."""
    process = LedgerProcess(ledger_settings, tmp_path)
    yield process
    process.kill()


@pytest.fixture
async def task_client(task_settings: Settings) -> AsyncIterator[AsyncClient]:
    """The task service in-process."""
    async with AsyncTestClient(create_task_app(task_settings)) as client:
        yield client


async def test_approval_delivered_three_times_and_sigkill_credit_b_exactly_once(
    ledger_process: LedgerProcess,
    task_client: AsyncClient,
    kafka_bootstrap: str,
    verify_provider: Callable[[UUID], None],
) -> None:
    tasks = task_client
    owner, provider = uuid4(), uuid4()
    verify_provider(provider)
    await ledger_process.start()
    async with httpx.AsyncClient(base_url=ledger_process.url) as ledger:
        await deposit(ledger, owner, 3 * SLOT)
    task_id = await create_and_publish(tasks, owner, slots=2)
    await eventually(lambda: task_status(tasks, task_id, "published"))

    order_id = await approved_order(tasks, task_id, owner, provider)
    ledger_process.kill()  # while the approval is on its way to the saga
    await ledger_process.start()
    await eventually(lambda: _order_status(tasks, order_id, owner, "settled"))

    await _redeliver(kafka_bootstrap, order_id, "order.approved.v1", times=3)

    async def duplicates_seen() -> bool:
        return (await ledger_process.consumer_stats())["duplicates"] >= 3

    await eventually(duplicates_seen)
    ledger_process.kill()  # and once more, then a last start over the same store
    await ledger_process.start()
    async with httpx.AsyncClient(base_url=ledger_process.url) as ledger:
        assert await wallet(ledger, provider) == (COMMISSION, 0)
        assert await wallet(ledger, owner) == (SLOT, SLOT)  # one slot still funded
        check = (await ledger.get("/check", headers=actor(uuid4(), ADMIN))).json()
    assert check == {"ok": True, "violations": []}
    order = (await tasks.get(f"/orders/{order_id}", headers=actor(owner))).json()
    assert [step["status"] for step in order["history"]].count("settled") == 1


async def _order_status(tasks: AsyncClient, order_id: str, owner: UUID, status: str) -> bool:
    response = await tasks.get(f"/orders/{order_id}", headers=actor(owner))
    return bool(response.json()["status"] == status)


async def _redeliver(bootstrap: str, key: str, event_type: str, *, times: int) -> None:
    """Produce the record of ``key`` with ``event_type`` again, byte for byte, ``times`` times."""
    consumer = AIOKafkaConsumer(
        TASK_EVENTS, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[object] = []
    try:

        async def read() -> bool:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                found.extend(
                    r
                    for r in records
                    if r.key == key.encode()
                    and msgspec.json.decode(r.value).get("type") == event_type
                )
            return bool(found)

        await eventually(read)
    finally:
        await consumer.stop()
    record = found[0]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for _ in range(times):
            await producer.send_and_wait(
                TASK_EVENTS,
                key=record.key,  # type: ignore[attr-defined]
                value=record.value,  # type: ignore[attr-defined]
                headers=list(record.headers),  # type: ignore[attr-defined]
            )
    finally:
        await producer.stop()
