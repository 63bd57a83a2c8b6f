"""Embedded infrastructure for one machine without Docker: PostgreSQL and a Kafka-protocol broker.

Both run as child processes of the caller on 127.0.0.1 and are stopped with it.
"""

from ring_runtime.embedded._process import free_port, port_in_use
from ring_runtime.embedded.broker import EmbeddedBroker, EmbeddedBrokerError, metadata_error
from ring_runtime.embedded.postgres import EmbeddedPostgres, EmbeddedPostgresError

__all__ = [
    "EmbeddedBroker",
    "EmbeddedBrokerError",
    "EmbeddedPostgres",
    "EmbeddedPostgresError",
    "free_port",
    "metadata_error",
    "port_in_use",
]
