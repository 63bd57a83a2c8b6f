"""Embedded PostgreSQL and broker, and the session fixtures built on them."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from ring_runtime.embedded import (
    EmbeddedBroker,
    EmbeddedBrokerError,
    EmbeddedPostgres,
    EmbeddedPostgresError,
    free_port,
)
from ring_runtime.testing import settings_for
from ring_runtime.testing.fixtures import BrokerControl

pytestmark = pytest.mark.integration


def test_postgres_fixture_answers_queries(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SELECT current_database(), 6 * 7").fetchone()
    assert row is not None
    assert row[1] == 42


def test_db_schema_is_created_and_dropped(postgres_url: str, db_schema: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{db_schema}".t (x int)')
        conn.execute(f'INSERT INTO "{db_schema}".t VALUES (1)')
        found = conn.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
            (db_schema,),
        ).fetchone()
    assert found == (1,)


def test_settings_for_points_at_the_test_servers(
    postgres_url: str, kafka_bootstrap: str, db_schema: str
) -> None:
    settings = settings_for("task", postgres_url, kafka_bootstrap, db_schema, RING_HTTP_PORT="0")
    assert settings.database_url == postgres_url
    assert settings.kafka_bootstrap == kafka_bootstrap
    assert settings.db_schema == db_schema
    assert settings.kafka_session_timeout_ms == 2000
    assert settings.kafka_heartbeat_interval_ms == 500
    assert settings.http_port == 0


def test_embedded_postgres_keeps_data_across_restarts(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pg", free_port(), durable=False)
    with server:
        assert server.url.endswith(f":{server.port}/ring")
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)")
        pid = server.pid
    assert server.pid is None
    assert pid is not None
    with server, psycopg.connect(server.url) as conn:
        assert conn.execute("SELECT x FROM kept").fetchone() == (7,)


def test_postgres_refuses_a_taken_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(EmbeddedPostgresError, match="already in use"):
            EmbeddedPostgres(tmp_path / "pg", port).start()


def test_broker_refuses_a_taken_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(EmbeddedBrokerError, match="already in use"):
            EmbeddedBroker(taken.getsockname()[1]).start()


async def _round_trip(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"v1", key=b"k")
        await producer.send_and_wait(topic, b"v2", key=b"k")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        got: list[tuple[bytes | None, bytes | None]] = []
        while len(got) < 2:
            batch = await consumer.getmany(timeout_ms=5000)
            assert batch, "no records within 5 s"
            got += [(r.key, r.value) for records in batch.values() for r in records]
        return got
    finally:
        await consumer.stop()


async def _topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return list(await admin.list_topics())
    finally:
        await admin.close()


async def test_broker_round_trip(kafka_bootstrap: str) -> None:
    topic = f"test.roundtrip.{uuid.uuid4().hex[:8]}"
    assert await _round_trip(kafka_bootstrap, topic) == [(b"k", b"v1"), (b"k", b"v2")]


async def test_broker_restart_loses_topics(broker_control: BrokerControl) -> None:
    topic = f"test.lost.{uuid.uuid4().hex[:8]}"
    await _round_trip(broker_control.bootstrap, topic)
    assert topic in await _topics(broker_control.bootstrap)
    broker_control.restart()
    assert topic not in await _topics(broker_control.bootstrap)
