"""Full lifecycles through the gateway: throughput, errors, hop latencies and CPU per lifecycle.

Each of W closed-loop clients owns a Party A (funded once) and a Party B (verified once, right
before its first lifecycle) and runs lifecycles back to back at zero think time, each step sent
right after the previous acknowledgement and never retried:

    A drafts a 1-slot task → publishes it → waits until it is ``published`` → B takes an order
    → uploads a voucher → A approves it → waits until the order is ``settled``.

A refused step ends the lifecycle as failed and is counted by ``<status> <code>``. Waiting uses
the gateway's long-poll (``--wait long-poll``, the default when the platform offers it) or
polling every ``--poll-ms``. CPU time is read from ``/proc`` for every process under the
``ring run`` process (services, PostgreSQL with its backends, the broker) and for this client.
``RING_BROKER=kafka`` in the environment runs the platform on Apache Kafka instead of Tansu.
``--statements`` also counts the PostgreSQL statements and transactions of the measured window
(``bench/pg_statements.py``), per lifecycle and by statement.

Run against a platform this script starts (fresh data, RING_PORT_OFFSET honoured)::

    RING_PORT_OFFSET=100 .venv/bin/python bench/lifecycle.py --lifecycles 200 --clients 16

or against a running ``ring run`` (its PID, and its database for ``ring admin create``)::

    .venv/bin/python bench/lifecycle.py --attach PID --database-url postgresql://… --data-dir DIR
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from pg_statements import StatementCounts, StatementLog
from pg_statements import report as statements_report

from ring_runtime.embedded import free_port
from ring_runtime.settings import SERVICE_PORTS
from ring_runtime.testing import admin_create, served_by

GATEWAY = f"http://127.0.0.1:{SERVICE_PORTS['gateway']}"
BIN = Path(sys.executable).parent
PASSWORD = "bench password 1!"
COMMISSION = 1_000
TASK = {
    "title": "Transcribe a 10 minute interview",
    "description": "Verbatim, with timestamps",
    "deadline": "2031-01-01T00:00:00Z",
    "commission_minor": COMMISSION,
    "currency": "CNY",
    "slots": 1,
    "required_skills": ["transcription"],
}
TICKS = os.sysconf("SC_CLK_TCK")


def say(message: str) -> None:
    """Progress on stderr."""
    print(message, file=sys.stderr, flush=True)


# -- the platform -----------------------------------------------------------------------------


@contextmanager
def own_platform() -> Iterator[tuple[int, dict[str, str]]]:
    """``ring run`` on fresh embedded PostgreSQL and broker; yields its PID and environment."""
    with tempfile.TemporaryDirectory() as data:
        pg_port = free_port()
        env = {
            **os.environ,
            "RING_DATA_DIR": data,
            "RING_EMBEDDED_PG_PORT": str(pg_port),
            "RING_EMBEDDED_KAFKA_PORT": str(free_port()),
            "RING_LOG_LEVEL": "WARNING",
            "RING_AUTH_RATE_LIMIT_PER_MINUTE": "100000",
        }
        log = Path(data) / "run.log"
        with log.open("ab") as output:
            process = subprocess.Popen(
                [str(BIN / "ring"), "run"], env=env, stdout=output, stderr=subprocess.STDOUT
            )
        try:
            wait_ready(process, log)
            yield (
                process.pid,
                {**env, "RING_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{pg_port}/ring"},
            )
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_ready(process: subprocess.Popen[bytes], log: Path, within: float = 240) -> None:
    """Until the gateway reports every upstream ready."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"ring run exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{GATEWAY}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the platform did not become ready")


# -- CPU from /proc ---------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        tree.setdefault(parent, []).append(int(entry))
    return tree


def _cpu_ticks(pid: int) -> int:
    """utime + stime of ``pid`` and of its children it has already reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2 :].split()
    return sum(int(f) for f in fields[11:15])


def _group(pid: int) -> str | None:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    words = [a.decode(errors="replace") for a in argv if a]
    if service := served_by(pid):
        return service
    if words and Path(words[0]).name == "postgres":
        return "postgres"
    if words and "tansu" in Path(words[0]).name:
        return "tansu"
    if "kafka.Kafka" in words:  # the Apache Kafka node of RING_BROKER=kafka
        return "kafka"
    return None


def cpu_by_process(root: int) -> dict[str, float]:
    """CPU seconds used so far by every process under ``root``, summed per service."""
    tree = _children()
    totals: Counter[str] = Counter()

    def walk(pid: int, group: str) -> None:
        own = _group(pid) or group
        totals[own] += _cpu_ticks(pid)
        for child in tree.get(pid, []):
            if own == "postgres":  # backends: their time is reaped into the postmaster's too
                totals[own] += _cpu_ticks(child) - _reaped(child)
                continue
            walk(child, own)

    walk(root, "supervisor")
    return {name: ticks / TICKS for name, ticks in totals.items()}


def _reaped(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[13]) + int(fields[14])


def own_cpu() -> float:
    """CPU seconds of this client process."""
    times = os.times()
    return times.user + times.system


# -- the parties ------------------------------------------------------------------------------


def create_admin(env: dict[str, str]) -> str:
    """A new administrator (created with the CLI); returns its email."""
    email = f"bench-admin-{uuid4().hex[:8]}@ring.test"
    admin_create(env, email, PASSWORD)
    return email


async def sign_in(email: str, role: str | None) -> httpx.AsyncClient:
    """A client of the gateway holding the bearer token of ``email`` (registered if ``role``)."""
    # Idle connections are dropped before the server's keep-alive timeout (uvicorn: 5 s) can
    # close them under a request: a bench without retries must not count that race.
    limits = httpx.Limits(keepalive_expiry=2.0)
    client = httpx.AsyncClient(base_url=GATEWAY, timeout=120, limits=limits)
    if role is not None:
        body = {"email": email, "password": PASSWORD, "role": role, "display_name": role}
        (await client.post("/v1/auth/register", json=body)).raise_for_status()
    login = await client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    login.raise_for_status()
    client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    return client


def _png() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (32, 32), color=(os.getpid() % 256, 0, 0))
    image.putpixel((0, 0), tuple(os.urandom(3)))  # distinct content: no duplicate flags
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class Refused(Exception):
    """A step answered something other than what the lifecycle expects."""

    def __init__(self, step: str, answer: httpx.Response | None, what: str = "") -> None:
        if answer is not None:
            try:
                code = answer.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "?"
            what = f"{answer.status_code} {code}"
        super().__init__(f"{step}: {what}")
        self.key = f"{step}: {what}"


@dataclass
class Results:
    """What the clients measured."""

    completed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    published: list[float] = field(default_factory=list)
    settled: list[float] = field(default_factory=list)
    requests: int = 0
    waits: int = 0


class Lifecycles:
    """One closed-loop client: its A, its B, and the lifecycles it runs."""

    def __init__(self, a: httpx.AsyncClient, b: httpx.AsyncClient, args: argparse.Namespace):
        self.a, self.b, self.args = a, b, args

    async def step(
        self,
        client: httpx.AsyncClient,
        results: Results,
        step: str,
        expected: int,
        *a: Any,
        **k: Any,
    ) -> Any:
        results.requests += 1
        answer = await client.request(*a, **k)
        if answer.status_code != expected:
            raise Refused(step, answer)
        return answer.json()

    async def until(
        self, client: httpx.AsyncClient, results: Results, step: str, path: str, status: str
    ) -> None:
        """Until the resource at ``path`` has ``status``: long-poll or poll."""
        deadline = time.monotonic() + self.args.wait_seconds
        while time.monotonic() < deadline:
            results.requests += 1
            results.waits += 1
            if self.args.wait == "long-poll":
                left = max(0.1, min(10.0, deadline - time.monotonic()))
                params = {"wait_for": f"status:{status}", "timeout": f"{left:.1f}"}
                answer = await client.get(path, params=params, timeout=left + 10)
            else:
                answer = await client.get(path)
            if answer.status_code != 200:
                raise Refused(step, answer)
            if answer.json()["status"] == status:
                return
            if self.args.wait == "poll":
                await asyncio.sleep(self.args.poll_ms / 1000)
        raise Refused(step, None, f"not {status} within {self.args.wait_seconds:g} s")

    async def run_one(self, results: Results) -> None:
        task = await self.step(self.a, results, "create", 201, "POST", "/v1/tasks", json=TASK)
        task_id = task["id"]
        started = time.perf_counter()
        await self.step(self.a, results, "publish", 202, "POST", f"/v1/tasks/{task_id}/publish")
        await self.until(self.a, results, "wait published", f"/v1/tasks/{task_id}", "published")
        results.published.append(time.perf_counter() - started)
        order = await self.step(self.b, results, "take", 201, "POST", f"/v1/tasks/{task_id}/orders")
        order_id = order["id"]
        files = {"files": ("proof.png", _png(), "image/png")}
        voucher = await self.step(
            self.b, results, "upload", 201, "POST", f"/v1/orders/{order_id}/vouchers",
            files=files, data={"note": "done"},
        )  # fmt: skip
        started = time.perf_counter()
        await self.step(
            self.a, results, "approve", 200, "POST", f"/v1/vouchers/{voucher['id']}/approve"
        )
        await self.until(self.a, results, "wait settled", f"/v1/orders/{order_id}", "settled")
        results.settled.append(time.perf_counter() - started)
        results.completed += 1


async def prepare(
    worker: int, admin: httpx.AsyncClient, args: argparse.Namespace, funds: int
) -> Lifecycles:
    """A funded Party A and a qualified Party B (verified later, right before the first take)."""
    tag = uuid4().hex[:8]
    a = await sign_in(f"bench-a-{worker}-{tag}@ring.test", "party_a")
    b = await sign_in(f"bench-b-{worker}-{tag}@ring.test", "party_b")
    deposit = await a.post(
        "/v1/wallet/deposits",
        json={"amount_minor": funds, "currency": "CNY"},
        headers={"Idempotency-Key": str(uuid4())},
    )
    if deposit.status_code != 201:
        raise SystemExit(f"deposit refused: {deposit.status_code} {deposit.text}")
    qualification = await b.post(
        "/v1/providers/me/qualifications",
        json={"kind": "certificate", "reference": "CERT-1", "skills": ["transcription"]},
    )
    if qualification.status_code >= 300:
        raise SystemExit(f"qualification refused: {qualification.status_code} {qualification.text}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # setup only: the deposit and qualification land
        wallet = (await a.get("/v1/wallet", params={"currency": "CNY"})).json()
        me = (await b.get("/v1/me")).json()
        if wallet.get("available_minor") == funds and me.get("id"):
            break
        await asyncio.sleep(0.2)
    return Lifecycles(a, b, args)


async def measure(
    args: argparse.Namespace,
    root: int,
    env: dict[str, str],
    on_start: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Set the parties up, run the lifecycles, and return the figures.

    ``on_start`` runs once the parties are ready, right before the measured lifecycles
    (``bench/profile_platform.py`` starts its profilers there).
    """
    admin = await sign_in(create_admin(env), None)
    per_client = -(-args.lifecycles // args.clients)
    funds = per_client * COMMISSION * 2
    say(f"preparing {args.clients} clients…")
    gate = asyncio.Semaphore(4)  # sign-ups hash passwords (argon2): not all at once

    async def prepared(worker: int) -> Lifecycles:
        async with gate:
            return await prepare(worker, admin, args, funds)

    clients = await asyncio.gather(*(prepared(w) for w in range(args.clients)))
    results = Results()
    remaining = args.lifecycles

    async def worker(lifecycles: Lifecycles) -> None:
        nonlocal remaining
        b_id = (await lifecycles.b.get("/v1/me")).json()["id"]
        # Verified right before the first take: that take must not be refused as unverified.
        (await admin.post(f"/v1/admin/providers/{b_id}/verify")).raise_for_status()
        while remaining > 0:
            remaining -= 1
            try:
                await lifecycles.run_one(results)
            except Refused as refused:
                results.errors[refused.key] += 1
            except httpx.HTTPError as error:
                results.errors[f"transport: {type(error).__name__}"] += 1

    say(f"running {args.lifecycles} lifecycles with {args.clients} clients ({args.wait})…")
    statements = (
        StatementLog(env["RING_DATABASE_URL"], env["RING_DATA_DIR"])
        if getattr(args, "statements", False)
        else None
    )
    on_start()
    if statements is not None:
        statements.start()
    cpu_before, client_before = cpu_by_process(root), own_cpu()
    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in clients))
    elapsed = time.perf_counter() - started
    cpu_after, client_after = cpu_by_process(root), own_cpu()
    counts = statements.stop() if statements is not None else None
    for c in clients:
        await c.a.aclose()
        await c.b.aclose()
    await admin.aclose()
    cpu = {name: cpu_after.get(name, 0.0) - cpu_before.get(name, 0.0) for name in cpu_after}
    cpu["client (this script)"] = client_after - client_before
    return {"results": results, "elapsed": elapsed, "cpu": cpu, "statements": counts}


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(args: argparse.Namespace, figures: dict[str, Any]) -> str:
    """The figures as Markdown."""
    results: Results = figures["results"]
    elapsed: float = figures["elapsed"]
    done = max(results.completed, 1)
    tried = max(args.lifecycles, 1)
    failed = args.lifecycles - results.completed
    ms = 1000
    lines = [
        f"clients {args.clients}, lifecycles {args.lifecycles}, wait {args.wait}"
        + (f" every {args.poll_ms} ms" if args.wait == "poll" else ""),
        "",
        "| lifecycles/s | completed | failed | publish→published p50 / p99 | "
        "approve→settled p50 / p99 | requests per lifecycle |",
        "| ---: | ---: | ---: | --- | --- | ---: |",
        f"| {results.completed / elapsed:.2f} | {results.completed} | {failed} | "
        f"{percentile(results.published, 0.5) * ms:.0f} ms / "
        f"{percentile(results.published, 0.99) * ms:.0f} ms | "
        f"{percentile(results.settled, 0.5) * ms:.0f} ms / "
        f"{percentile(results.settled, 0.99) * ms:.0f} ms | "
        f"{results.requests / max(args.lifecycles, 1):.1f} |",
        "",
        "errors by step and code: "
        + (", ".join(f"{k} x {v}" for k, v in results.errors.most_common()) or "none"),
        "",
        "| process | CPU ms per completed lifecycle | CPU ms per attempted lifecycle |",
        "| --- | ---: | ---: |",
    ]
    cpu: dict[str, float] = figures["cpu"]
    platform_total = sum(v for k, v in cpu.items() if not k.startswith("client"))
    for name, seconds in sorted(cpu.items(), key=lambda item: -item[1]):
        lines.append(f"| {name} | {seconds / done * ms:.1f} | {seconds / tried * ms:.1f} |")
    lines.append(
        f"| **platform total** (without the client) | **{platform_total / done * ms:.1f}** | "
        f"**{platform_total / tried * ms:.1f}** |"
    )
    counts: StatementCounts | None = figures.get("statements")
    if counts is not None:
        lines += ["", statements_report(counts, results.completed)]
    return "\n".join(lines)


def main() -> None:
    """Parse the options, run, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lifecycles", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--wait", choices=["poll", "long-poll"], default="poll")
    parser.add_argument("--poll-ms", type=int, default=50, help="poll interval (--wait poll)")
    parser.add_argument("--wait-seconds", type=float, default=30.0, help="give up waiting after")
    parser.add_argument("--attach", type=int, help="PID of a running `ring run` to measure")
    parser.add_argument("--database-url", help="its database (for `ring admin create`)")
    parser.add_argument("--data-dir", default=".ring", help="its RING_DATA_DIR (dev keys)")
    parser.add_argument(
        "--statements",
        action="store_true",
        help="log and count PostgreSQL statements during the run (bench/pg_statements.py)",
    )
    args = parser.parse_args()
    if args.attach is not None:
        if not args.database_url:
            parser.error("--attach needs --database-url")
        env = {
            **os.environ,
            "RING_DATABASE_URL": args.database_url,
            "RING_DATA_DIR": args.data_dir,
        }
        figures = asyncio.run(measure(args, args.attach, env))
    else:
        say("starting the platform (ring run)…")
        with own_platform() as (pid, env):
            figures = asyncio.run(measure(args, pid, env))
    print(report(args, figures))


if __name__ == "__main__":
    main()
