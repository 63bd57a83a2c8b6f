"""Where the time goes when a killed service comes back (issue 17: served again ≤ 5 s).

Starts embedded PostgreSQL and Tansu, then for each service named: starts it once (schemas,
topics), kills it with SIGKILL and starts it again the way ``ring run`` does, ``--restarts``
times, and measures per restart:

* ``import``: a fresh ``python -c "import <service main>"`` (wall and CPU seconds) — the part
  of a start that is the same for every process;
* ``serving``: from spawn until ``GET /health`` answers;
* ``ready``: from spawn until ``GET /ready`` answers 200 (store, broker, relay, consumers);
* the CPU seconds the process used until it served.

Run (export your ``RING_PORT_OFFSET`` on a shared machine):

    .venv/bin/python bench/service_restart.py --services task,ledger --restarts 3
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ring_runtime.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from ring_runtime.settings import SERVICE_PORTS

MAINS = {
    "dispute": "ring_dispute.main",
    "gateway": "ring_gateway.main",
    "ledger": "ring_ledger.main",
    "matching": "ring_matching.main",
    "task": "ring_task.main",
    "voucher": "ring_voucher.main",
}
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def import_cost(module: str) -> tuple[float, float]:
    """Wall and CPU seconds of importing ``module`` in a fresh interpreter."""
    began = time.perf_counter()
    before = os.times()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return time.perf_counter() - began, cpu


def answers(url: str, ok_only: bool) -> bool:
    try:
        status = httpx.get(url, timeout=1).status_code
    except httpx.HTTPError:
        return False
    return status == 200 or not ok_only


def start_and_time(
    name: str, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], dict[str, float]]:
    """Spawn ``name`` as ``ring run`` does; seconds until serving and ready, CPU until serving."""
    base = f"http://127.0.0.1:{SERVICE_PORTS[name]}"
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "ring_runtime.commands.serve", name],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    figures: dict[str, float] = {}
    deadline = began + 300
    while time.perf_counter() < deadline:
        if "serving" not in figures and answers(f"{base}/health", ok_only=False):
            figures["serving"] = time.perf_counter() - began
            figures["cpu_until_serving"] = cpu_seconds(process.pid)
        if "serving" in figures and answers(f"{base}/ready", ok_only=True):
            figures["ready"] = time.perf_counter() - began
            return process, figures
        time.sleep(0.05)
    raise RuntimeError(f"{name} not ready in 300 s: {figures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", default="task,ledger")
    parser.add_argument("--restarts", type=int, default=3)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="ring-restart-"))
    postgres = EmbeddedPostgres(data / "postgres", free_port(), durable=True)
    broker = EmbeddedBroker(free_port(), log_path=data / "tansu.log")
    postgres.start()
    broker.start()
    env = {
        **os.environ,
        "RING_DATABASE_URL": postgres.url,
        "RING_KAFKA_BOOTSTRAP": broker.bootstrap,
        "RING_DATA_DIR": str(data),
        "RING_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    rows = []
    try:
        for name in args.services.split(","):
            process, _ = start_and_time(name, env)  # first start: schemas, topics, groups
            samples: list[dict[str, float]] = []
            for _ in range(args.restarts):
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                wall, cpu = import_cost(MAINS[name])
                process, figures = start_and_time(name, env)
                samples.append({**figures, "import": wall, "import_cpu": cpu})
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
            rows.append((name, samples))
    finally:
        broker.stop()
        postgres.stop()
    load = os.getloadavg()[0]
    print(f"load average {load:.1f}; medians of {args.restarts} restarts (seconds)")
    print("| service | import wall / CPU | serving | CPU until serving | ready |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, samples in rows:

        def med(key: str, samples: list[dict[str, float]] = samples) -> float:
            return statistics.median(s[key] for s in samples)

        print(
            f"| {name} | {med('import'):.1f} / {med('import_cpu'):.1f} | {med('serving'):.1f} "
            f"| {med('cpu_until_serving'):.1f} | {med('ready'):.1f} |"
        )


if __name__ == "__main__":
    main()
