"""Where the time goes when a killed service comes back (issue 17: served again ≤ 5 s).

Starts the whole platform with ``ring run`` (embedded PostgreSQL and Tansu, every service under
the supervisor; ``--fork-server off`` starts each service as its own program, as before the fork
server), waits until every service is ready, then for each service named kills it with SIGKILL
``--restarts`` times and measures per restart, from the kill:

* ``serving``: until a new process answers ``GET /health``;
* ``ready``: until ``GET /ready`` answers 200 (store, broker, every consumer group joined,
  relay and background loops running);

and, once per service, ``import``: a fresh ``python -c "import <service main>"`` (wall and CPU
seconds), the part of a start the fork server does not repeat.

Run (export your ``RING_PORT_OFFSET`` on a shared machine):

    .venv/bin/python bench/service_restart.py --services task,gateway --restarts 3
    .venv/bin/python bench/service_restart.py --services task,gateway --restarts 3 --fork-server off
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
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx
import psutil

from ring_runtime.commands.run import service_url
from ring_runtime.supervisor import RestartPolicy

HEALTHY_AFTER = RestartPolicy().healthy_after
MAINS = {
    "dispute": "ring_dispute.main",
    "gateway": "ring_gateway.main",
    "ledger": "ring_ledger.main",
    "matching": "ring_matching.main",
    "notification": "ring_notification.main",
    "task": "ring_task.main",
    "voucher": "ring_voucher.main",
}


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


def status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=1).status_code
    except httpx.HTTPError:
        return None


def is_ready(url: str) -> bool:
    return status(f"{url}/ready") == 200


def listener(port: int) -> int | None:
    """Pid of the process listening on ``port``."""
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            return int(conn.pid)
    return None


def serving_again(port: int, url: str, killed: int) -> bool:
    """Whether a process other than ``killed`` listens on ``port`` and answers ``/health``."""
    return listener(port) not in (None, killed) and status(f"{url}/health") == 200


def until(condition: str, check: Callable[[], bool], within: float = 300) -> float:
    """Seconds until ``check()`` holds (polled every 50 ms)."""
    began = time.perf_counter()
    while time.perf_counter() - began < within:
        if check():
            return time.perf_counter() - began
        time.sleep(0.05)
    raise RuntimeError(f"not {condition} within {within} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", default="task,gateway")
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--fork-server", choices=("on", "off"), default="on")
    args = parser.parse_args()
    names = args.services.split(",")
    data = Path(tempfile.mkdtemp(prefix="ring-restart-"))
    env = {
        **os.environ,
        "RING_DATA_DIR": str(data),
        "RING_FORK_SERVER": "true" if args.fork_server == "on" else "false",
        "PYTHONUNBUFFERED": "1",
    }
    log = (data / "ring-run.log").open("wb")
    platform = subprocess.Popen(
        [str(Path(sys.executable).parent / "ring"), "run"], env=env, stdout=log, stderr=log
    )
    urls = {name: service_url(name, env) for name in names}
    rows = []
    try:
        began = time.perf_counter()
        for url in urls.values():
            until("ready", partial(is_ready, url))
        print(f"platform ready after {time.perf_counter() - began:.1f} s", flush=True)
        for name, url in urls.items():
            port = int(url.rsplit(":", 1)[1])
            samples: list[dict[str, float]] = []
            for _ in range(args.restarts):
                pid = listener(port)
                assert pid is not None, f"nothing listens on {port}"
                killed = time.perf_counter()
                os.kill(pid, signal.SIGKILL)
                until("serving", partial(serving_again, port, url, pid))
                serving = time.perf_counter() - killed
                until("ready", partial(is_ready, url))
                samples.append({"serving": serving, "ready": time.perf_counter() - killed})
                print(f"{name}: {samples[-1]}", flush=True)
                # The next kill comes after a healthy run: the supervisor restarts it at once
                # (kills in a row back off, on purpose), so every sample is a single kill.
                time.sleep(max(2.0, HEALTHY_AFTER + 1 - (time.perf_counter() - killed)))
            wall, cpu = import_cost(MAINS[name])
            rows.append((name, samples, wall, cpu))
    finally:
        platform.send_signal(signal.SIGINT)
        try:
            platform.wait(timeout=60)
        except subprocess.TimeoutExpired:
            platform.kill()
        log.close()
    load = os.getloadavg()[0]
    print(
        f"fork server {args.fork_server}; load average {load:.1f}; "
        f"median / max of {args.restarts} kills (seconds from the kill)"
    )
    print("| service | serving | ready | import wall / CPU (fresh interpreter) |")
    print("| --- | ---: | ---: | ---: |")
    for name, samples, wall, cpu in rows:
        serving = [s["serving"] for s in samples]
        ready = [s["ready"] for s in samples]
        print(
            f"| {name} | {statistics.median(serving):.1f} / {max(serving):.1f} "
            f"| {statistics.median(ready):.1f} / {max(ready):.1f} | {wall:.1f} / {cpu:.1f} |"
        )


if __name__ == "__main__":
    main()
