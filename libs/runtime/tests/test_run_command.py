"""``ring run``: pure helpers, and the whole command with fake services in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from ring_runtime.commands.run import (
    banner,
    broker_summary,
    embedded_broker,
    fork_server_spec,
    service_order,
    service_specs,
    service_url,
)
from ring_runtime.embedded import EmbeddedBroker, EmbeddedKafka, free_port


def test_gateway_starts_last() -> None:
    assert service_order(["task", "gateway", "ledger"]) == ["ledger", "task", "gateway"]


def test_each_service_is_its_own_serve_process() -> None:
    specs = service_specs(["task"], {"RING_X": "1"})
    assert specs[0].argv[1:] == ["-m", "ring_runtime.commands.serve", "task"]
    assert specs[0].env is not None
    assert specs[0].env["RING_X"] == "1"
    assert specs[0].env["PYTHONUNBUFFERED"] == "1"


def test_services_are_forked_from_a_fork_server_with_their_environment_unless_switched_off() -> (
    None
):
    specs = service_specs(["task", "gateway"], {"RING_X": "1"})
    assert [spec.service for spec in specs] == ["task", "gateway"]  # the fork server can fork them
    fork = fork_server_spec(specs, {})
    assert fork is not None
    assert fork.argv[1:] == ["-m", "ring_runtime.forkserver"]
    assert fork.env == specs[0].env  # what modules read at import time is the services' own
    assert fork_server_spec(specs, {"RING_FORK_SERVER": "false"}) is None
    assert fork_server_spec([], {}) is None


def test_banner_names_gateway_docs_and_admin_command() -> None:
    text = banner({"task": service_url("task", {}), "gateway": service_url("gateway", {})})
    assert "http://127.0.0.1:8000" in text
    assert "http://127.0.0.1:8000/schema" in text
    assert ".venv/bin/ring admin create EMAIL --password-stdin" in text


def test_banner_lists_the_web_app() -> None:
    urls = {name: service_url(name, {}) for name in ("gateway", "web")}
    assert f"web app   {urls['web']}" in banner(urls)


def test_web_app_is_told_where_the_gateway_listens() -> None:
    specs = {spec.name: spec for spec in service_specs(["gateway", "web"], {})}
    assert specs["web"].env is not None
    assert specs["web"].env["RING_GATEWAY_URL"] == service_url("gateway", {})
    moved = service_specs(["web"], {"RING_GATEWAY_URL": "http://gw.example:9000"})
    assert moved[0].env is not None
    assert moved[0].env["RING_GATEWAY_URL"] == "http://gw.example:9000"


def test_banner_without_gateway_lists_services() -> None:
    text = banner({"task": service_url("task", {}), "ledger": service_url("ledger", {})})
    assert "http://127.0.0.1:8101" in text
    assert "http://127.0.0.1:8104" in text


def test_banner_says_which_broker_runs() -> None:
    tansu = banner({"gateway": service_url("gateway", {})}, broker_summary({}))
    assert "broker    Tansu on 127.0.0.1:19092 (in memory" in tansu
    kafka = broker_summary({"RING_BROKER": "kafka", "RING_KAFKA_BOOTSTRAP": "127.0.0.1:9"})
    assert kafka.startswith("Apache Kafka on 127.0.0.1:9")
    external = broker_summary({"RING_EMBEDDED": "false", "RING_KAFKA_BOOTSTRAP": "kafka:9092"})
    assert external == "kafka:9092 (RING_EMBEDDED=false)"


def test_ring_broker_chooses_the_embedded_broker(tmp_path: Path) -> None:
    tansu, _ = embedded_broker({}, tmp_path)
    assert isinstance(tansu, EmbeddedBroker)
    kafka, label = embedded_broker(
        {"RING_BROKER": "kafka", "RING_EMBEDDED_KAFKA_PORT": "19555"}, tmp_path
    )
    assert isinstance(kafka, EmbeddedKafka)
    assert kafka.bootstrap == "127.0.0.1:19555"
    assert kafka.data_dir == tmp_path / "apache-kafka", "data on disk under RING_DATA_DIR"
    assert label.startswith("Apache Kafka")
    with pytest.raises(click.ClickException, match="RING_BROKER must be tansu or kafka"):
        embedded_broker({"RING_BROKER": "redpanda"}, tmp_path)


_DRIVER = """
import sys
from ring_runtime.commands import run as command
from ring_runtime.supervisor import ChildSpec

child = "import os, time; print('child up', os.getpid(), flush=True); time.sleep(120)"
command.installed_services = lambda: ["fake"]
command.service_specs = lambda names, env: [
    ChildSpec("fake", [sys.executable, "-c", child], env)
]
command.run.main(["--health-timeout", "1"], prog_name="ring run", standalone_mode=True)
"""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


@pytest.mark.integration
def test_ring_run_starts_infrastructure_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "RING_DATA_DIR": str(tmp_path / "data"),
        "RING_EMBEDDED_PG_PORT": str(free_port()),
        "RING_EMBEDDED_KAFKA_PORT": str(free_port()),
    }
    driver = subprocess.Popen(
        [sys.executable, "-c", _DRIVER],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert driver.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = driver.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "not healthy after" in line:
            break
    output = "".join(lines)
    assert "starting PostgreSQL" in output, output
    assert "ready in" in output, output
    assert "fake | child up" in output, output
    child_pid = int(output.split("child up ")[1].split()[0])
    postgres_pid = int((tmp_path / "data" / "postgres" / "postmaster.pid").read_text().split()[0])
    assert _pid_alive(child_pid), output
    assert _pid_alive(postgres_pid)

    driver.send_signal(signal.SIGINT)
    rest, _ = driver.communicate(timeout=60)
    assert driver.returncode == 0, output + rest
    assert "stopped." in rest
    assert not _pid_alive(child_pid)
    assert not _pid_alive(postgres_pid)
