"""Pytest fixtures giving every test in the repository PostgreSQL and a Kafka-protocol broker.

Loaded by the root ``conftest.py`` (``pytest_plugins``). Servers start lazily, only when a
test asks for them; see :mod:`ring_runtime.testing.sources` for where they come from. The
report ends with a line saying which source was used.

PostgreSQL is one server per session (tests isolate themselves with a schema each). The
embedded broker is started afresh for every test module: topic names are fixed, and one
module's events must not reach another module's consumers. Starting Tansu takes ~60 ms. An
external or container broker is shared by the whole session. In the Kafka lane
(``RING_TEST_BROKER=kafka``) one Apache Kafka node serves the session (it takes seconds to
start) and every module begins with its topics deleted, which deletes their committed offsets.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from psycopg import sql

from ring_runtime.embedded import EmbeddedBroker, EmbeddedKafka, free_port
from ring_runtime.testing.sources import (
    SCRAM_TEST_USERS,
    Source,
    kafka_jars_home,
    kafka_source,
    postgres_source,
)

_USED: dict[str, Source] = {}


@dataclass(frozen=True)
class BrokerControl:
    """Control over the session's embedded broker."""

    source: Source

    @property
    def bootstrap(self) -> str:
        """Bootstrap address of the broker."""
        return self.source.address

    @property
    def keeps_data(self) -> bool:
        """Whether a restart keeps topics, records and offsets (Apache Kafka; Tansu loses them)."""
        return isinstance(self.source.broker, EmbeddedKafka)

    def restart(self) -> None:
        """Restart the broker on the same port (Tansu loses everything, Kafka nothing)."""
        assert self.source.broker is not None
        self.source.broker.restart()


@pytest.fixture(scope="session")
def postgres_source_info(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    """The session's PostgreSQL :class:`Source` (address and origin)."""
    with postgres_source(tmp_path_factory.mktemp("ring-pg")) as source:
        _USED["PostgreSQL"] = source
        yield source


@pytest.fixture(scope="session")
def kafka_session_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    """The session's broker :class:`Source` (address and origin)."""
    with kafka_source(tmp_path_factory.mktemp("ring-kafka")) as source:
        _USED["Kafka"] = source
        yield source


@pytest.fixture(scope="module")
def kafka_source_info(
    kafka_session_source: Source, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Source]:
    """This module's broker: a fresh embedded one, or the session's external/container one
    (Apache Kafka: the session's node, emptied of the previous modules' topics)."""
    if isinstance(kafka_session_source.broker, EmbeddedKafka):
        asyncio.run(_delete_topics(kafka_session_source.address))
        yield kafka_session_source
        return
    if kafka_session_source.broker is None:
        yield kafka_session_source
        return
    log_path = tmp_path_factory.mktemp("ring-kafka-module") / "tansu.log"
    with EmbeddedBroker(free_port(), log_path=log_path) as broker:
        yield Source(broker.bootstrap, "embedded", note=kafka_session_source.note, broker=broker)


@pytest.fixture(scope="session")
def postgres_url(postgres_source_info: Source) -> str:
    """``postgresql://`` URL of a database the tests may use (one per session)."""
    return postgres_source_info.address


@pytest.fixture(scope="module")
def kafka_bootstrap(kafka_source_info: Source) -> str:
    """Bootstrap servers of a Kafka-protocol broker (see the module docstring for its scope)."""
    return kafka_source_info.address


@pytest.fixture
def broker_control(kafka_source_info: Source) -> BrokerControl:
    """Restart the embedded broker (data loss); skips when the broker is external."""
    if kafka_source_info.broker is None:
        pytest.skip(
            f"broker_control needs the embedded broker, but kafka_bootstrap comes from "
            f"{kafka_source_info.kind} ({kafka_source_info.address}) and cannot be restarted"
        )
    return BrokerControl(kafka_source_info)


@pytest.fixture
def apache_kafka(kafka_source_info: Source) -> EmbeddedKafka:
    """The session's Apache Kafka node (with a SCRAM listener); only in the Kafka lane."""
    if not isinstance(kafka_source_info.broker, EmbeddedKafka):
        pytest.fail(
            "this test needs Apache Kafka: run it in the Kafka lane (RING_TEST_BROKER=kafka, "
            "`make test` does when Java 17+ and Maven are present)"
        )
    return kafka_source_info.broker


@pytest.fixture(scope="module")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedKafka]:
    """A three-node Apache Kafka cluster for this module (replication 3, min.insync 2)."""
    data = tmp_path_factory.mktemp("ring-kafka-cluster")
    with EmbeddedKafka(
        data, free_port(), nodes=3, jars_home=kafka_jars_home(), scram_users=SCRAM_TEST_USERS
    ) as cluster:
        yield cluster


async def _delete_topics(bootstrap: str, within: float = 60.0) -> None:
    """Delete every topic but Kafka's internal ones and wait until they are gone."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if not t.startswith("__")]
        if topics:
            await admin.delete_topics(topics)
        deadline = time.monotonic() + within
        while set(topics) & set(await admin.list_topics()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics {topics} still listed {within:g} s after deletion")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


@pytest.fixture
def db_schema(postgres_url: str) -> Iterator[str]:
    """A fresh, empty schema for this test (created now, dropped with its contents after)."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say where PostgreSQL and the broker came from in this session."""
    for what, source in _USED.items():
        terminalreporter.write_line(f"ring test infrastructure: {source.describe(what)}")
