"""Where the test suite gets PostgreSQL and a Kafka-protocol broker from.

In this order: external servers named by ``RING_TEST_DATABASE_URL`` /
``RING_TEST_KAFKA_BOOTSTRAP``; testcontainers when a Docker engine answers; the embedded
servers (:mod:`ring_runtime.embedded`) on free ports with throw-away data.

``RING_TEST_BROKER=kafka`` (the Kafka lane of ``make test``) replaces the broker by an embedded
Apache Kafka node and never falls back: when it cannot start, the session fails.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ring_runtime.embedded import EmbeddedBroker, EmbeddedKafka, EmbeddedPostgres, free_port
from ring_runtime.settings import ENVIRONMENT

Kind = Literal["environment", "testcontainers", "embedded", "apache-kafka"]

#: SCRAM-SHA-512 user of the Apache Kafka test brokers' SASL listener: the task service's user as
#: the deployment names it (``ring-<service>``, deploy/compose/kafka-start.sh); a throw-away secret.
SCRAM_TEST_USERS = {"ring-task": "ring-task-test-secret"}

#: Images used when a Docker engine answers.
POSTGRES_IMAGE = "postgres:16-alpine"
KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"


@dataclass
class Source:
    """An address for the tests plus how it was obtained.

    Attributes:
        address: database URL or Kafka bootstrap servers.
        kind: where it comes from.
        note: why earlier sources were not used (empty when the first one was).
        broker: the embedded broker (Tansu or Apache Kafka), when that is the source (tests may
            restart it).
    """

    address: str
    kind: Kind
    note: str = ""
    broker: EmbeddedBroker | EmbeddedKafka | None = None

    def describe(self, what: str) -> str:
        """One line for the test report."""
        text = f"{what}: {self.kind} ({self.address})"
        return f"{text}; {self.note}" if self.note else text


def kafka_lane() -> bool:
    """Whether this session is the Kafka lane (``RING_TEST_BROKER=kafka``)."""
    return os.environ.get("RING_TEST_BROKER", "").strip().lower() == "kafka"


def kafka_jars_home() -> Path:
    """Where Maven's Apache Kafka jars are kept (``RING_KAFKA_JARS``)."""
    default = next(v.default for v in ENVIRONMENT if v.name == "RING_KAFKA_JARS")
    return Path(os.environ.get("RING_KAFKA_JARS") or default)


def _docker_disabled() -> bool:
    return os.environ.get("RING_TEST_DOCKER", "auto").strip().lower() in ("0", "false", "no", "off")


@contextlib.contextmanager
def _container(
    factory: Callable[[], Any], address: Callable[[Any], str]
) -> Iterator[tuple[str | None, str]]:
    """Start a testcontainer; yield ``(address, "")`` or ``(None, why it failed)``."""
    if _docker_disabled():
        yield None, "RING_TEST_DOCKER=false"
        return
    try:
        container = factory()
        container.start()
    except Exception as error:  # DockerException, connection or pull errors: fall back
        first_line = (str(error).splitlines() or [""])[0][:160]
        yield None, f"no Docker engine or container failed ({type(error).__name__}: {first_line})"
        return
    try:
        yield address(container), ""
    finally:
        with contextlib.suppress(Exception):
            container.stop()


@contextlib.contextmanager
def postgres_source(tmp_dir: Path) -> Iterator[Source]:
    """PostgreSQL for a test session (see the module docstring for the order)."""
    external = os.environ.get("RING_TEST_DATABASE_URL")
    if external:
        yield Source(external, "environment")
        return

    def make() -> Any:
        from testcontainers.community.postgres import PostgresContainer

        container = PostgresContainer(
            POSTGRES_IMAGE,
            username="postgres",
            password="postgres",  # noqa: S106 - throw-away test container
            dbname="ring",
            driver=None,
        )
        return container.with_command("postgres -c fsync=off -c max_connections=300")

    with _container(make, lambda c: str(c.get_connection_url(driver=None))) as (url, why):
        if url is not None:
            yield Source(url, "testcontainers")
            return
        with EmbeddedPostgres(tmp_dir / "postgres", free_port(), durable=False) as server:
            yield Source(server.url, "embedded", note=why)


@contextlib.contextmanager
def kafka_source(tmp_dir: Path) -> Iterator[Source]:
    """A Kafka-protocol broker for a test session (see the module docstring for the order)."""
    if kafka_lane():
        kafka = EmbeddedKafka(
            tmp_dir / "apache-kafka",
            free_port(),
            jars_home=kafka_jars_home(),
            scram_users=SCRAM_TEST_USERS,
        )
        with kafka:
            yield Source(
                kafka.bootstrap, "apache-kafka", note="RING_TEST_BROKER=kafka", broker=kafka
            )
        return
    external = os.environ.get("RING_TEST_KAFKA_BOOTSTRAP")
    if external:
        yield Source(external, "environment")
        return

    def make() -> Any:
        from testcontainers.community.kafka import KafkaContainer

        return KafkaContainer(KAFKA_IMAGE).with_kraft()

    with _container(make, lambda c: str(c.get_bootstrap_server())) as (bootstrap, why):
        if bootstrap is not None:
            yield Source(bootstrap, "testcontainers")
            return
        broker = EmbeddedBroker(free_port(), log_path=tmp_dir / "tansu.log")
        with broker:
            yield Source(broker.bootstrap, "embedded", note=why, broker=broker)
