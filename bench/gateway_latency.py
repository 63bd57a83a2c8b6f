"""Gateway latency: p50/p99 of an authenticated read and of the create-task command, measured
with a closed-loop load generator against the whole platform started by ``ring run``.

Run: ``.venv/bin/python bench/gateway_latency.py [--seconds 20] [--concurrency 8]``.
Writes the ``## Gateway`` section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import httpx

from ring_runtime.embedded import free_port

RESULTS = Path(__file__).with_name("RESULTS.md")
GATEWAY = "http://127.0.0.1:8000"
TASK = {
    "title": "Transcribe a 10 minute interview",
    "description": "Verbatim, with timestamps",
    "deadline": "2031-01-01T00:00:00Z",
    "commission_minor": 5_000,
    "currency": "CNY",
    "slots": 1,
    "required_skills": ["transcription"],
}


def say(message: str) -> None:
    """Progress on stderr."""
    print(message, file=sys.stderr, flush=True)


def start_platform(data_dir: Path) -> subprocess.Popen[bytes]:
    """``ring run`` on embedded PostgreSQL and Tansu, quiet."""
    env = {
        **os.environ,
        "RING_DATA_DIR": str(data_dir),
        "RING_EMBEDDED_PG_PORT": str(free_port()),
        "RING_EMBEDDED_KAFKA_PORT": str(free_port()),
        "RING_LOG_LEVEL": "WARNING",
        "RING_AUTH_RATE_LIMIT_PER_MINUTE": "1000",
    }
    ring = Path(sys.executable).parent / "ring"
    return subprocess.Popen(
        [str(ring), "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_ready(process: subprocess.Popen[bytes], within: float = 180) -> None:
    """Until the gateway reports every upstream ready."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("ring run exited; run it by hand to see why")
        try:
            if httpx.get(f"{GATEWAY}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the platform did not become ready")


def sign_up() -> str:
    """A new Party A's bearer token."""
    email = f"bench-{uuid4().hex[:8]}@ring.test"
    password = "bench password 1!"
    body = {"email": email, "password": password, "role": "party_a", "display_name": "Bench"}
    httpx.post(f"{GATEWAY}/v1/auth/register", json=body).raise_for_status()
    login = httpx.post(f"{GATEWAY}/v1/auth/login", json={"email": email, "password": password})
    login.raise_for_status()
    return str(login.json()["access_token"])


async def closed_loop(
    client: httpx.AsyncClient, request: httpx.Request, seconds: float, concurrency: int
) -> tuple[list[float], int]:
    """``concurrency`` workers sending ``request`` back to back; latencies and error count."""
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.monotonic() < stop:
            started = time.perf_counter()
            answer = await client.send(request)
            latencies.append(time.perf_counter() - started)
            if answer.status_code >= 400:
                errors += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(seconds: float, concurrency: int) -> dict[str, tuple[list[float], int]]:
    """Latencies of the read and of the command, one after the other."""
    token = sign_up()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=GATEWAY, headers=headers, timeout=30) as client:
        created = await client.post("/v1/tasks", json=TASK)
        created.raise_for_status()
        read = client.build_request("GET", f"/v1/tasks/{created.json()['id']}")
        say(f"authenticated read, {concurrency} workers, {seconds:.0f} s…")
        reads = await closed_loop(client, read, seconds, concurrency)
        command = client.build_request("POST", "/v1/tasks", json=TASK)
        say(f"create-task command, {concurrency} workers, {seconds:.0f} s…")
        commands = await closed_loop(client, command, seconds, concurrency)
    return {"GET /v1/tasks/{id}": reads, "POST /v1/tasks": commands}


def write_section(section: str) -> None:
    """Replace (or add) the ``## Gateway`` section of RESULTS.md."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    start = text.find("## Gateway")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main() -> None:
    """Start the platform, measure, stop it, write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="per measured operation")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        say("starting the platform (ring run)…")
        process = start_platform(Path(tmp))
        try:
            wait_ready(process)
            results = asyncio.run(measure(args.seconds, args.concurrency))
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=90)
    rows = [
        f"| {name} | {len(lat):,} | {len(lat) / args.seconds:,.0f}/s | "
        f"{percentile(lat, 0.5) * 1000:.1f} ms | {percentile(lat, 0.99) * 1000:.1f} ms | {errors} |"
        for name, (lat, errors) in results.items()
    ]
    section = "\n".join(
        [
            "## Gateway",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} cores, Python "
            f"{platform.python_version()}: the whole platform under `ring run` (every service its "
            "own process, embedded PostgreSQL with fsync on, Tansu) and the load generator on the "
            f"same machine; closed loop, {args.concurrency} concurrent clients, {args.seconds:g} s "
            "per operation, one bearer token.",
            f"Command: `.venv/bin/python bench/gateway_latency.py --seconds {args.seconds:g} "
            f"--concurrency {args.concurrency}`",
            "",
            "| operation | requests | throughput | p50 | p99 | errors |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
        ]
    )
    write_section(section)
    print(section)


if __name__ == "__main__":
    main()
