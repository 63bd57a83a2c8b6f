"""Embedded infrastructure for one machine without Docker: PostgreSQL and a Kafka-protocol broker
(Tansu in memory, or Apache Kafka itself when Java and Maven are present).

Both run as child processes of the caller on 127.0.0.1 and are stopped with it.
"""

from ring_runtime.embedded._process import free_port, port_in_use
from ring_runtime.embedded.apache_kafka import (
    EmbeddedKafka,
    KafkaUnavailableError,
    kafka_tools_missing,
)
from ring_runtime.embedded.broker import EmbeddedBroker, EmbeddedBrokerError, metadata_error
from ring_runtime.embedded.postgres import EmbeddedPostgres, EmbeddedPostgresError

__all__ = [
    "EmbeddedBroker",
    "EmbeddedBrokerError",
    "EmbeddedKafka",
    "EmbeddedPostgres",
    "EmbeddedPostgresError",
    "KafkaUnavailableError",
    "free_port",
    "kafka_tools_missing",
    "metadata_error",
    "port_in_use",
]
