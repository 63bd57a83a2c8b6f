"""Apache Kafka itself, embedded: one KRaft node or a three-node cluster, run from Maven's jars.

Production runs Apache Kafka; Tansu (:mod:`ring_runtime.embedded.broker`) keeps data in memory
only, refuses idempotent producers, answers ListOffsets LATEST wrongly and has no SASL. This
module runs the real broker on the same machine with no container engine: Maven resolves the
pinned jars listed in ``kafka-pom.xml`` (once, into ``RING_KAFKA_JARS/<version>/lib``), the
storage tool formats each node's directory, and every node runs ``kafka.Kafka`` as a combined
broker and controller bound to 127.0.0.1, with its data on disk (a restart loses nothing).

It needs Java 17+ and Maven on ``PATH``; :func:`kafka_tools_missing` says what is missing.
See docs/decisions/0011-apache-kafka-embedded.md for the measured start time and memory.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiokafka import AIOKafkaClient
from aiokafka.admin import AIOKafkaAdminClient

from ring_runtime.embedded._process import (
    accepts_tcp,
    die_with_parent,
    free_port,
    log_tail,
    port_in_use,
    stop_process,
)
from ring_runtime.embedded.broker import EmbeddedBrokerError

#: The Apache Kafka release pinned in ``kafka-pom.xml``.
KAFKA_VERSION = "4.4.0"
#: SASL mechanism of the SCRAM listener (the one the production manifests use).
SCRAM_MECHANISM = "SCRAM-SHA-512"
_JAVA_MIN = 17
_HEAP = ("-Xms128m", "-Xmx512m")
_JVM = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)


class KafkaUnavailableError(EmbeddedBrokerError):
    """Java 17+ or Maven is missing, or Maven could not resolve the jars; the message says how
    to fix it."""


def _resource(name: str) -> Path:
    path = Path(str(resources.files("ring_runtime.embedded") / name))
    if not path.is_file():  # a zipped install; never the case for this repository
        raise KafkaUnavailableError(f"{name} is not a file next to {__name__}")
    return path


def java_version(java: str = "java") -> int | None:
    """Major version of ``java`` on PATH, or ``None`` when there is none."""
    executable = shutil.which(java)
    if executable is None:
        return None
    result = subprocess.run(
        [executable, "-version"], capture_output=True, text=True, check=False, timeout=60
    )
    found = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if found is None:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def kafka_tools_missing() -> str | None:
    """What is missing to run Apache Kafka here (``None``: Java 17+ and Maven are present)."""
    version = java_version()
    missing = []
    if version is None:
        missing.append(f"Java {_JAVA_MIN}+ (no `java` on PATH)")
    elif version < _JAVA_MIN:
        missing.append(f"Java {_JAVA_MIN}+ (`java` is version {version})")
    if shutil.which("mvn") is None:
        missing.append("Maven (no `mvn` on PATH)")
    if not missing:
        return None
    return (
        "Apache Kafka needs " + " and ".join(missing) + "; Debian/Ubuntu: "
        "apt-get install openjdk-17-jre-headless maven"
    )


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def kafka_jars(home: Path, say: Callable[[str], None] = _say) -> Path:
    """Directory holding the jars of Apache Kafka :data:`KAFKA_VERSION`; resolves them first.

    Maven copies the dependencies of ``kafka-pom.xml`` into ``home/<version>/lib`` once; the
    directory is stamped with the pom's hash, so a changed pin resolves again. A file lock keeps
    two processes (a test session and a ``ring run`` it started) from resolving at once.

    Raises:
        KafkaUnavailableError: Java or Maven is missing, or Maven failed (its output follows).
    """
    pom = _resource("kafka-pom.xml")
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:16]
    lib = home / KAFKA_VERSION / "lib"
    stamp = lib / ".resolved"
    if stamp.is_file() and stamp.read_text().strip() == digest:
        return lib
    missing = kafka_tools_missing()
    if missing:
        raise KafkaUnavailableError(missing)
    lib.parent.mkdir(parents=True, exist_ok=True)
    with (lib.parent / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and stamp.read_text().strip() == digest:
            return lib
        partial = lib.with_name("lib.partial")
        shutil.rmtree(partial, ignore_errors=True)
        say(f"resolving Apache Kafka {KAFKA_VERSION} with Maven into {lib} (once; ~1 min)…")
        started = time.monotonic()
        result = subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={partial.resolve()}",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        if result.returncode != 0 or not any(partial.glob("kafka_2.13-*.jar")):
            output = (result.stdout + result.stderr).strip().splitlines()[-30:]
            raise KafkaUnavailableError(
                f"Maven could not resolve Apache Kafka {KAFKA_VERSION} (exit "
                f"{result.returncode}); its output ends:\n" + "\n".join(output)
            )
        shutil.rmtree(lib, ignore_errors=True)
        partial.rename(lib)
        stamp.write_text(digest + "\n")
        jars = len(list(lib.glob("*.jar")))
        say(f"resolved {jars} jars in {time.monotonic() - started:.0f} s")
    return lib


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding.

    Never one that starts with ``-`` (one in 64 would): ``kafka-storage format -t -…`` reads it
    as an option and fails, which is why Kafka's own ``Uuid.randomUuid`` draws again too.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass
class KafkaNode:
    """One combined broker and controller of the cluster.

    Attributes:
        node_id: KRaft node id (1, 2, 3…).
        port: PLAINTEXT client listener on 127.0.0.1.
        controller_port: KRaft controller listener on 127.0.0.1.
        sasl_port: SASL_PLAINTEXT (SCRAM) client listener, when SCRAM users are configured.
        directory: the node's directory (``server.properties``, ``server.log``, ``data/``).
    """

    node_id: int
    port: int
    controller_port: int
    sasl_port: int | None
    directory: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def data_dir(self) -> Path:
        """Kafka's ``log.dirs`` for this node."""
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        """The node's own output."""
        return self.directory / "server.log"

    @property
    def pid(self) -> int | None:
        """Process id while the node runs."""
        return self.process.pid if self.process and self.process.poll() is None else None


class EmbeddedKafka:
    """Apache Kafka in KRaft mode: one node, or a cluster of ``nodes`` on 127.0.0.1.

    A cluster of three gives topics replication 3 and ``min.insync.replicas`` 2 by default, so
    an ``acks=all`` producer keeps working with one node down. Data stays in ``data_dir`` across
    :meth:`stop`/:meth:`start`; nothing is lost on a restart.

    Args:
        data_dir: the cluster's directory (``node-1``, ``node-2``… below it).
        port: client port of the first node; the others and the controller ports are free
            ports picked now.
        nodes: 1 or 3 (any odd count works).
        jars_home: where Maven's jars are kept (:func:`kafka_jars`).
        scram_users: ``{user: password}`` for a SASL_PLAINTEXT listener with SCRAM-SHA-512 on
            every node (:attr:`sasl_bootstrap`); the users are created when the node is
            formatted.
        start_timeout: seconds to wait for every node to be up and in the cluster.
        say: where progress lines go (default stderr).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int = 19092,
        *,
        nodes: int = 1,
        jars_home: Path = Path(".ring/kafka"),
        scram_users: Mapping[str, str] | None = None,
        start_timeout: float = 240.0,
        say: Callable[[str], None] = _say,
    ) -> None:
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        self.data_dir = data_dir
        self.jars_home = jars_home
        self.scram_users = dict(scram_users or {})
        self.start_timeout = start_timeout
        self.say = say
        self.nodes = [
            KafkaNode(
                node_id=index + 1,
                port=port if index == 0 else free_port(),
                controller_port=free_port(),
                sasl_port=free_port() if self.scram_users else None,
                directory=data_dir / f"node-{index + 1}",
            )
            for index in range(nodes)
        ]

    # -- the same surface as EmbeddedBroker (Tansu) ---------------------------------------

    @property
    def port(self) -> int:
        """Client port of the first node."""
        return self.nodes[0].port

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers (PLAINTEXT), every node, comma separated."""
        return ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    @property
    def sasl_bootstrap(self) -> str:
        """Bootstrap servers of the SCRAM listener (empty when no SCRAM users are set)."""
        return ",".join(f"127.0.0.1:{node.sasl_port}" for node in self.nodes if node.sasl_port)

    @property
    def log_path(self) -> Path:
        """Output of the first node."""
        return self.nodes[0].log_path

    @property
    def pid(self) -> int | None:
        """Process id of the first node while it runs."""
        return self.nodes[0].pid

    def start(self) -> Self:
        """Resolve the jars, format new node directories, start every node, wait for the cluster.

        Raises:
            KafkaUnavailableError: Java/Maven missing or the jars cannot be resolved.
            EmbeddedBrokerError: a port is taken, a node exited, or the cluster did not come up
                in time (the message ends with the tail of the node's log).
        """
        pending = [node for node in self.nodes if node.pid is None]
        if not pending:
            return self
        for node in pending:
            taken = [p for p in (node.port, node.controller_port, node.sasl_port) if p]
            busy = [p for p in taken if port_in_use(p)]
            if busy:
                raise EmbeddedBrokerError(
                    f"cannot start Apache Kafka node {node.node_id}: port {busy[0]} on 127.0.0.1 "
                    "is already in use. Stop that process or choose another port "
                    "(RING_EMBEDDED_KAFKA_PORT)."
                )
        lib = kafka_jars(self.jars_home, self.say)
        self._format(lib, pending)
        for node in pending:
            self._spawn(lib, node)
        self._wait_ready(pending)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every node (SIGTERM: a controlled shutdown; SIGKILL after ``timeout``)."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            list(pool.map(lambda node: self.stop_node(node.node_id, timeout), self.nodes))

    def restart(self) -> None:
        """Stop and start every node on the same ports; topics, records and offsets are kept."""
        self.stop()
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

    # -- single nodes (fault injection) ------------------------------------------------------

    def node(self, node_id: int) -> KafkaNode:
        """The node with KRaft id ``node_id`` (1-based)."""
        return self.nodes[node_id - 1]

    def stop_node(self, node_id: int, timeout: float = 30.0) -> None:
        """Stop one node cleanly (SIGTERM, then SIGKILL after ``timeout``)."""
        node = self.node(node_id)
        process, node.process = node.process, None
        if process is not None:
            stop_process(process, first_signal=signal.SIGTERM, timeout=timeout)

    def kill_node(self, node_id: int) -> None:
        """SIGKILL one node: no controlled shutdown, like a crashed machine's process."""
        node = self.node(node_id)
        process, node.process = node.process, None
        if process is not None:
            stop_process(process, first_signal=signal.SIGKILL, timeout=10)

    def start_node(self, node_id: int) -> None:
        """Start one stopped node again and wait until it is back in the cluster."""
        node = self.node(node_id)
        if node.pid is not None:
            return
        lib = kafka_jars(self.jars_home, self.say)
        self._spawn(lib, node)
        self._wait_ready([node])

    # -- internals -------------------------------------------------------------------------

    def _properties(self, node: KafkaNode) -> str:
        count = len(self.nodes)
        insync = min(2, count)
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        listeners = [
            f"PLAINTEXT://127.0.0.1:{node.port}",
            f"CONTROLLER://127.0.0.1:{node.controller_port}",
        ]
        advertised = [f"PLAINTEXT://127.0.0.1:{node.port}"]
        if node.sasl_port:
            listeners.append(f"SASL_PLAINTEXT://127.0.0.1:{node.sasl_port}")
            advertised.append(f"SASL_PLAINTEXT://127.0.0.1:{node.sasl_port}")
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(node.node_id),
            "controller.quorum.voters": voters,
            "listeners": ",".join(listeners),
            "advertised.listeners": ",".join(advertised),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": (
                "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT"
            ),
            "log.dirs": str(node.data_dir.resolve()),
            # As in production (deploy/compose/kafka-init.sh): every topic is created explicitly,
            # so a client that relies on auto-creation fails here as it would there.
            "auto.create.topics.enable": "false",
            "num.partitions": "4",
            "default.replication.factor": str(count),
            "min.insync.replicas": str(insync),
            "offsets.topic.replication.factor": str(count),
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": str(count),
            "transaction.state.log.min.isr": str(insync),
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": str(count),
            "share.coordinator.state.topic.min.isr": str(insync),
            "group.initial.rebalance.delay.ms": "0",
            # Dev and tests run consumer groups with a 2 s session (RING_KAFKA_SESSION_TIMEOUT_MS);
            # Kafka's floor is 6 s by default.
            "group.min.session.timeout.ms": "1000",
            "unclean.leader.election.enable": "false",
        }
        if node.sasl_port:
            mechanism = SCRAM_MECHANISM.lower()
            settings["sasl.enabled.mechanisms"] = SCRAM_MECHANISM
            settings[f"listener.name.sasl_plaintext.{mechanism}.sasl.jaas.config"] = (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            )
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _java(self, lib: Path, main: str, *args: str, heap: tuple[str, ...]) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise KafkaUnavailableError(kafka_tools_missing() or "no `java` on PATH")
        log_config = _resource("kafka-log4j2.properties")
        return [
            java,
            *heap,
            *_JVM,
            f"-Dlog4j2.configurationFile={log_config}",
            "-cp",
            f"{lib.resolve()}/*",
            main,
            *args,
        ]

    def _format(self, lib: Path, nodes: list[KafkaNode]) -> None:
        """Write each node's properties; format the ones whose data directory is new."""
        cluster_id = self._cluster_id() or new_cluster_id()
        fresh = []
        for node in nodes:
            node.directory.mkdir(parents=True, exist_ok=True)
            (node.directory / "server.properties").write_text(self._properties(node))
            if not (node.data_dir / "meta.properties").is_file():
                fresh.append(node)
        scram = [
            arg
            for user, password in self.scram_users.items()
            for arg in ("--add-scram", f"{SCRAM_MECHANISM}=[name={user},password={password}]")
        ]

        def format_node(node: KafkaNode) -> None:
            command = self._java(
                lib,
                "kafka.tools.StorageTool",
                "format",
                "--ignore-formatted",
                "-t",
                cluster_id,
                "-c",
                str(node.directory / "server.properties"),
                *scram,
                heap=("-Xmx256m", "-XX:TieredStopAtLevel=1"),
            )
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise EmbeddedBrokerError(
                    f"formatting Apache Kafka node {node.node_id} in {node.data_dir} failed "
                    f"(exit {result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}"
                )

        if fresh:
            with concurrent.futures.ThreadPoolExecutor(max_workers=len(fresh)) as pool:
                list(pool.map(format_node, fresh))

    def _cluster_id(self) -> str | None:
        """The cluster id of an already formatted node, so new nodes join the same cluster."""
        for node in self.nodes:
            meta = node.data_dir / "meta.properties"
            if meta.is_file():
                found = re.search(r"^cluster\.id=(\S+)$", meta.read_text(), re.MULTILINE)
                if found:
                    return found.group(1)
        return None

    def _spawn(self, lib: Path, node: KafkaNode) -> None:
        command = self._java(
            lib, "kafka.Kafka", str(node.directory / "server.properties"), heap=_HEAP
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "JAVA_TOOL"))}
        with node.log_path.open("ab") as log:
            node.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=node.directory,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGTERM),
            )

    def _wait_ready(self, started: list[KafkaNode]) -> None:
        """Wait until every node answers, the cluster metadata lists all of them and a consumer
        group can find its coordinator (on a new cluster that creates ``__consumer_offsets``;
        otherwise the first service to subscribe would wait for it, ~20 s on a busy machine)."""
        deadline = time.monotonic() + self.start_timeout
        last_error = "no node accepted a connection"
        while time.monotonic() < deadline:
            for node in started:
                process = node.process
                if process is not None and process.poll() is not None:
                    self.stop()
                    raise EmbeddedBrokerError(
                        f"Apache Kafka node {node.node_id} exited with status "
                        f"{process.returncode} while starting; log {node.log_path}:\n"
                        f"{log_tail(node.log_path)}"
                    )
            if all(accepts_tcp(node.port) for node in started):
                bootstrap = ",".join(f"127.0.0.1:{node.port}" for node in started)
                timeout = max(1.0, min(10.0, deadline - time.monotonic()))
                brokers, error = cluster_brokers(bootstrap, timeout=timeout)
                if brokers >= len(self.nodes):
                    coordinator = group_coordinator_error(bootstrap, timeout=timeout)
                    if coordinator is None:
                        return
                    error = coordinator
                last_error = error or f"{brokers} of {len(self.nodes)} brokers registered"
            time.sleep(0.2)
        self.stop()
        raise EmbeddedBrokerError(
            f"Apache Kafka on {self.bootstrap} was not ready within {self.start_timeout:.0f} s "
            f"({last_error}); log {started[0].log_path}:\n{log_tail(started[0].log_path)}"
        )


def cluster_brokers(bootstrap: str, timeout: float = 5.0, **client: Any) -> tuple[int, str]:
    """How many brokers the cluster metadata lists (0 and the error text when it fails).

    Runs its own event loop in a worker thread, so it may be called from async code too.
    """

    async def probe() -> int:
        kafka = AIOKafkaClient(
            bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000), **client
        )
        try:
            await asyncio.wait_for(kafka.bootstrap(), timeout)
            return len(kafka.cluster.brokers())
        finally:
            await kafka.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        try:
            return pool.submit(asyncio.run, probe()).result(), ""
        except Exception as error:
            return 0, f"{type(error).__name__}: {error}"


def group_coordinator_error(bootstrap: str, timeout: float = 5.0) -> str | None:
    """Find the coordinator of a probe group; ``None`` when one answers, else the error text."""

    async def probe() -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000)
        )
        await asyncio.wait_for(admin.start(), timeout)
        try:
            await asyncio.wait_for(admin.find_coordinator("ring.ready-probe"), timeout)
        finally:
            await admin.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        try:
            pool.submit(asyncio.run, probe()).result()
        except Exception as error:
            return f"group coordinator: {type(error).__name__}: {error}"
    return None
