"""``make run`` smoke test: the whole platform starts, answers health checks, and SIGINT stops
every process it started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest

from ring_runtime.embedded import free_port
from ring_runtime.forkserver import process_name
from ring_runtime.service import registered_services
from ring_runtime.settings import SERVICE_PORTS
from ring_runtime.testing import served_by, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.kafka_lane]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def test_ring_run_starts_everything_and_sigint_leaves_no_process(tmp_path: Path) -> None:
    services = registered_services()
    assert "task" in services
    ports = {name: SERVICE_PORTS[name] for name in services}
    busy = [p for p in ports.values() if _healthy(p)]
    assert not busy, f"ports {busy} already serve something; stop it before this test"
    env = {
        **os.environ,
        "RING_DATA_DIR": str(tmp_path / "ring"),
        "RING_EMBEDDED_PG_PORT": str(free_port()),
        "RING_EMBEDDED_KAFKA_PORT": str(free_port()),
        "RING_LOG_LEVEL": "WARNING",
    }
    ring = Path(sys.executable).parent / "ring"
    log = tmp_path / "run.log"
    # The child appends through its own descriptor; the test reads the file by path, so reading
    # never moves the offset the child writes at.
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(ring), "run"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:

        def banner() -> bool:
            assert process.poll() is None, _tail(log)
            return "Ring is running" in _whole(log)

        # `ring run` prints its banner only once every service answered its health check.
        wait_until(banner, within=180, every=0.5, what=lambda: f"the banner:\n{_tail(log)}\n")
        assert all(_healthy(p) for p in ports.values()), _tail(log)
        tree = psutil.Process(process.pid).children(recursive=True)
        names = {p.name() for p in tree}
        assert "postgres" in names, names
        # The Kafka lane exports RING_BROKER=kafka: the broker is then a JVM.
        kafka = os.environ.get("RING_BROKER") == "kafka"
        assert any(("java" if kafka else "tansu") in n for n in names), names
        assert ("broker    Apache Kafka on" if kafka else "broker    Tansu on") in _whole(log)
        assert len(tree) >= len(services) + 2

        # A service killed with SIGKILL serves again from a new process, forked from the fork
        # server; with the fork server killed too, the next killed service still comes back.
        task = _listener(ports["task"])
        os.kill(task, signal.SIGKILL)
        _until_served_again(ports["task"], task, log)
        revived = psutil.Process(_listener(ports["task"]))
        assert revived.ppid() == process.pid, _tail(log)  # adopted: `ring run` waits for it
        assert revived.name() == process_name("task"), revived.cmdline()  # from the fork server
        assert served_by(revived.pid) == "task"
        fork_servers = [
            p
            for p in psutil.Process(process.pid).children(recursive=True)
            if "ring_runtime.forkserver" in " ".join(p.cmdline()) and served_by(p.pid) is None
        ]
        assert len(fork_servers) == 1, [p.cmdline() for p in tree]
        fork_servers[0].kill()
        ledger = _listener(ports["ledger"])
        os.kill(ledger, signal.SIGKILL)
        _until_served_again(ports["ledger"], ledger, log)
        tree = psutil.Process(process.pid).children(recursive=True)

        process.send_signal(signal.SIGINT)
        process.wait(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()

    def alive() -> list[psutil.Process]:
        return [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]

    # Children reaped by `ring run` may take a moment to leave the process table.
    wait_until(lambda: not alive(), within=5, every=0.1, what=lambda: f"no child left: {alive()}")
    assert not alive(), [(p.pid, p.name()) for p in alive()]
    assert not any(_healthy(p) for p in ports.values())
    assert "stopped." in _whole(log)


def _listener(port: int) -> int:
    """Pid of the process listening on ``port``."""
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            return int(conn.pid)
    raise AssertionError(f"nothing listens on {port}")


def _until_served_again(port: int, killed: int, log: Path) -> None:
    def again() -> bool:
        with contextlib.suppress(AssertionError):
            return _listener(port) != killed and _healthy(port)
        return False

    wait_until(
        again, within=120, every=0.2, what=lambda: f"port {port} served again:\n{_tail(log)}"
    )


def _whole(log: Path) -> str:
    return log.read_text(errors="replace")


def _tail(log: Path) -> str:
    return _whole(log)[-4000:]
