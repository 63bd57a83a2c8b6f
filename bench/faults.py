"""Seeded fault injection against a live platform (Jepsen-style): the operator's worst day.

Starts ``ring run`` on fresh embedded infrastructure, runs lifecycles of every kind through the
public gateway from several clients (normal, reject → resubmit, dispute, cancellation) while a
seed-derived schedule injects faults: kill -9 of each service, kill -9 of the broker (Tansu loses
everything; with ``RING_BROKER=kafka`` the Apache Kafka node, which keeps it), kill -9 of PostgreSQL backends, PostgreSQL fast stop and PostgreSQL crash (kill -9
of the postmaster). ``ring run`` restarts whatever died. Then it waits for quiescence and checks:

* every lifecycle reached the final state its acknowledged steps lead to;
* each settled order was paid exactly once (provider wallets and statements are exact);
* escrow equals open obligations (nothing is left reserved once every lifecycle ended);
* ``ring ledger check --full`` is clean (the ledger's books, which wallets and statements are
  read from, equal the ledger's log);
* the read models fed from ``ring.task.events`` (the task board, orders by party, the matching
  board, the voucher and dispute order directories) equal a rebuild: each is rebuilt from the
  task service's event log into a scratch schema and compared row by row;
* no dead letter was parked; every service is ready (no relay or consumer left failing) with its
  relay leading, and no relay has anything left to publish.

It prints faults by type, client-visible errors by code and recovery times per fault type: from
injection until every service serves HTTP again, and until every one answers ``/ready`` 200
(store and broker reachable, every relay, consumer and timer healthy). Exit status 1 when an
invariant fails. The same seed gives the same schedule.

    RING_PORT_OFFSET=200 .venv/bin/python bench/faults.py --seed 7 --faults 20

``tests/fault/test_faults.py`` runs a short schedule in ``make test``; the long run and its
figures are in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import psycopg
from PIL import Image
from psycopg.sql import SQL, Identifier

from ring_dispute.projections import order_directory as dispute_order_directory
from ring_matching.projections.board import BoardProjection as MatchingBoard
from ring_runtime.consumer import ExactlyOnceProcessor
from ring_runtime.dead_letters import DeadLetterStore
from ring_runtime.embedded import free_port
from ring_runtime.projection import ProjectionStore
from ring_runtime.relay import OutboxRelay, relay_log
from ring_runtime.service import load_service
from ring_runtime.settings import SERVICE_PORTS, Settings, load_settings
from ring_runtime.store import create_application
from ring_runtime.testing import admin_create, served_by
from ring_task.application import Tasks
from ring_task.main import TRANSLATOR as TASK_TRANSLATOR
from ring_task.order_queries import OrdersByParty
from ring_task.projections import TaskBoardProjection
from ring_voucher.projections import order_directory as voucher_order_directory

BIN = Path(sys.executable).parent
SERVICES = ["dispute", "gateway", "ledger", "matching", "task", "voucher"]
COMMISSION = 1_000
PASSWORD = "correct horse 9!"
FAULT_TYPES = [
    *(f"kill -9 {name}" for name in SERVICES),
    "kill -9 broker",
    "kill -9 postgres backends",
    "postgres stop",
    "postgres crash",
]
KINDS = ["normal", "reject_resubmit", "dispute_release", "dispute_refund", "cancellation"]


class StepFailed(Exception):
    """A lifecycle step did not reach its expected answer in time."""


@dataclass
class Tally:
    """What the clients saw, shared by every client thread."""

    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, code: str) -> None:
        with self.lock:
            self.errors[code] += 1


class Platform:
    """``ring run`` on a fresh data directory, and the processes it runs."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.pg_port = free_port()
        self.kafka_port = free_port()
        self.env = {
            **os.environ,
            "RING_DATA_DIR": str(data_dir),
            "RING_EMBEDDED_PG_PORT": str(self.pg_port),
            "RING_EMBEDDED_KAFKA_PORT": str(self.kafka_port),
            "RING_LOG_LEVEL": "WARNING",
            "RING_AUTH_RATE_LIMIT_PER_MINUTE": "100000",
        }
        self.database_url = f"postgresql://postgres@127.0.0.1:{self.pg_port}/ring"
        self.gateway = f"http://127.0.0.1:{SERVICE_PORTS['gateway']}"
        self.log = data_dir / "run.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, within: float = 600) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [str(BIN / "ring"), "run"], env=self.env, stdout=output, stderr=subprocess.STDOUT
            )
        if not wait(self.all_ready, within):
            raise RuntimeError(f"platform not ready in {within} s:\n{self.tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def not_ready(self) -> list[str]:
        """Services whose ``/ready`` does not answer 200."""
        pending = []
        for name in SERVICES:
            try:
                answer = httpx.get(f"http://127.0.0.1:{SERVICE_PORTS[name]}/ready", timeout=3)
                if answer.status_code != 200:
                    pending.append(name)
            except httpx.HTTPError:
                pending.append(name)
        return pending

    def all_ready(self) -> bool:
        return not self.not_ready()

    def target_back(self, fault: str) -> bool:
        """Whether what ``fault`` hit answers again (a new connection to it succeeds)."""
        target = fault.split()[-1]
        if target in SERVICES:
            httpx.get(f"http://127.0.0.1:{SERVICE_PORTS[target]}/health", timeout=2)
            return True
        if target == "broker":
            with socket.create_connection(("127.0.0.1", self.kafka_port), timeout=2):
                return True
        with psycopg.connect(self.database_url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True

    def all_serving(self) -> bool:
        """Every service answers HTTP requests (``/health``) again."""
        for name in SERVICES:
            try:
                httpx.get(f"http://127.0.0.1:{SERVICE_PORTS[name]}/health", timeout=2)
            except httpx.HTTPError:
                return False
        return True

    def ours(self, pid: int) -> bool:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            return False
        return f"RING_DATA_DIR={self.data_dir}".encode() in environ.split(b"\0")

    def service_pid(self, name: str) -> int | None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            if served_by(int(entry.name)) == name and self.ours(int(entry.name)):
                return int(entry.name)
        return None

    def broker_pid(self) -> int | None:
        """Tansu (its port is on its command line) or the Apache Kafka node of ``RING_BROKER=kafka``
        (its ``server.properties`` lies in this platform's data directory)."""
        tansu = f"127.0.0.1:{self.kafka_port}".encode()
        kafka = f"{self.data_dir}/apache-kafka/".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if (b"tansu" in cmdline and tansu in cmdline) or (
                b"kafka.Kafka" in cmdline and kafka in cmdline
            ):
                return int(entry.name)
        return None

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def backend_pids(self) -> list[int]:
        with psycopg.connect(self.database_url, connect_timeout=3) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND pid <> pg_backend_pid()"
            ).fetchall()
        return [row[0] for row in rows]


def wait(condition: Callable[[], bool], within: float, every: float = 0.25) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if condition():
                return True
        time.sleep(every)
    return False


def kill(pid: int | None, sig: signal.Signals = signal.SIGKILL) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def inject(platform: Platform, fault: str, rng: random.Random) -> bool:
    """Inject ``fault``; False when its target was not running (it is then skipped)."""
    if fault.startswith("kill -9 ") and fault.split()[-1] in SERVICES:
        return kill(platform.service_pid(fault.split()[-1]))
    if fault == "kill -9 broker":
        return kill(platform.broker_pid())
    if fault == "kill -9 postgres backends":
        pids = platform.backend_pids()
        victims = rng.sample(pids, min(len(pids), 3))
        return any([kill(pid) for pid in victims])
    if fault == "postgres stop":
        return kill(platform.postmaster_pid(), signal.SIGINT)
    if fault == "postgres crash":
        return kill(platform.postmaster_pid())
    raise ValueError(fault)


class Party:
    """A signed-in user; every request retries through outages and records what it saw."""

    def __init__(self, gateway: str, tally: Tally, role: str, email: str | None = None) -> None:
        self.tally = tally
        self.client = httpx.Client(base_url=gateway, timeout=20)
        self.email = email or f"{role}-{uuid4().hex[:10]}@ring.test"
        if role != "admin":
            self.call(
                "POST",
                "/v1/auth/register",
                {201},
                json={
                    "email": self.email,
                    "password": PASSWORD,
                    "role": role,
                    "display_name": role,
                },
            )
        token = self.call(
            "POST", "/v1/auth/login", {200}, json={"email": self.email, "password": PASSWORD}
        ).json()["access_token"]
        self.client.headers["Authorization"] = f"Bearer {token}"
        self.id = self.call("GET", "/v1/me", {200}).json()["id"]

    def call(
        self, method: str, path: str, expect: set[int], *, within: float = 180, **kwargs: Any
    ) -> httpx.Response:
        """Send until the answer is in ``expect``.

        A 5xx or a broken connection is a client-visible error (counted by code) and retried;
        so is a 4xx before any such error (another service has not caught up yet). A 4xx after
        one is returned: the first attempt may have worked, and the caller checks the state.
        """
        deadline = time.monotonic() + within
        retried = False
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                answer = self.client.request(method, path, **kwargs)
            except httpx.HTTPError as error:
                self.tally.error(f"connection: {type(error).__name__}")
                retried = True
                time.sleep(0.5)
                continue
            if answer.status_code in expect:
                return answer
            if answer.status_code >= 500:
                code = _error_code(answer)
                self.tally.error(f"{answer.status_code} {code}")
                if answer.status_code == 503 and "Retry-After" not in answer.headers:
                    self.tally.error("503 without Retry-After")
                retried = True
                time.sleep(min(float(answer.headers.get("Retry-After", "0.5")), 2.0))
                continue
            if answer.status_code == 409 and _error_code(answer) == "request_in_progress":
                # A gateway killed mid-request left its lease on the key: retry once it expires.
                self.tally.error("409 request_in_progress")
                retried = True
                time.sleep(1.0)
                continue
            if retried and answer.status_code in (404, 409, 422):
                return answer
            if answer.status_code in (400, 413, 415, 422):  # the request itself is wrong
                raise StepFailed(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
            last = f"{answer.status_code} {answer.text[:200]}"
            time.sleep(0.3)
        raise StepFailed(f"{method} {path}: expected {sorted(expect)}, last answer {last}")

    def until(self, what: str, check: Callable[[], bool], within: float = 240) -> None:
        if not wait(check, within, every=0.5):
            raise StepFailed(f"{what} not reached in {within:g} s")

    def order_for(self, task_id: str) -> str:
        """The id of this party's order on ``task_id`` (the list is eventually consistent)."""
        found: list[str] = []

        def listed() -> bool:
            page = self.call("GET", "/v1/orders", {200}, params={"task_id": task_id}).json()
            found.extend(str(item["id"]) for item in page["items"])
            return bool(found)

        self.until(f"an order on task {task_id} listed", listed)
        return found[0]

    def wallet(self) -> dict[str, int]:
        answer = self.call("GET", "/v1/wallet", {200}, params={"currency": "CNY"})
        return dict(answer.json())

    def order_statuses(self, order_id: str) -> list[str]:
        history = self.call("GET", f"/v1/orders/{order_id}", {200}).json()["history"]
        return [step["status"] for step in history]


def _error_code(answer: httpx.Response) -> str:
    try:
        return str(answer.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "no_error_body"


@dataclass
class Outcome:
    kind: str
    provider: str | None
    paid: int
    ok: bool
    detail: str = ""


def _png(seed: int) -> bytes:
    """A small PNG of noise, distinct per seed (so no duplicate-content flag)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (16, 16))
    image.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(256)]
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def lifecycle(kind: str, owner: Party, provider: Party, admin: Party, seed: int) -> Outcome:
    """Run one lifecycle of ``kind``; returns what the provider must have been paid."""
    body = {
        "title": f"fault run {seed}",
        "description": "label images",
        "deadline": "2030-01-01T00:00:00Z",
        "commission_minor": COMMISSION,
        "currency": "CNY",
        "slots": 1,
        "required_skills": ["labeling"],
    }
    key = {"Idempotency-Key": str(uuid4())}
    created = owner.call("POST", "/v1/tasks", {201}, json=body, headers=key)
    if "id" not in created.json():
        raise StepFailed(f"POST /v1/tasks answered {created.status_code} {created.text[:300]}")
    task_id = created.json()["id"]
    owner.call("POST", f"/v1/tasks/{task_id}/publish", {202})
    owner.until(
        "task published",
        lambda: owner.call("GET", f"/v1/tasks/{task_id}", {200}).json()["status"] == "published",
    )
    if kind == "cancellation":
        owner.call("POST", f"/v1/tasks/{task_id}/cancel", {200, 202})
        owner.until(
            "task cancelled",
            lambda: (
                owner.call("GET", f"/v1/tasks/{task_id}", {200}).json()["status"] == "cancelled"
            ),
        )
        return Outcome(kind, None, 0, True)
    key = {"Idempotency-Key": str(uuid4())}
    taken = provider.call("POST", f"/v1/tasks/{task_id}/orders", {201}, headers=key)
    # A refused retry: an attempt whose answer was lost took the slot; find its order.
    order_id = taken.json()["id"] if taken.status_code == 201 else provider.order_for(task_id)

    def submit(n: int) -> str:
        answer = provider.call(
            "POST",
            f"/v1/orders/{order_id}/vouchers",
            {201},
            files={"files": (f"proof-{seed}-{n}.png", _png(uuid4().int), "image/png")},
            data={"note": "done"},
        )
        if answer.status_code == 201:
            return str(answer.json()["id"])
        listed = provider.call("GET", f"/v1/orders/{order_id}/vouchers", {200}).json()["items"]
        return str(listed[-1]["id"])

    voucher = submit(1)
    if kind != "normal":
        owner.call("POST", f"/v1/vouchers/{voucher}/reject", {200}, json={"reason": "blurry"})
        provider.until("order rejected", lambda: "rejected" in provider.order_statuses(order_id))
    if kind == "reject_resubmit":
        voucher = submit(2)
    if kind in ("normal", "reject_resubmit"):
        owner.call("POST", f"/v1/vouchers/{voucher}/approve", {200})
        final, paid = "settled", COMMISSION
    else:
        dispute = provider.call(
            "POST",
            f"/v1/orders/{order_id}/disputes",
            {201},
            json={"reason": "the work was complete", "category": "unfair_rejection"},
        )
        if dispute.status_code == 201:
            dispute_id = dispute.json()["id"]
        else:
            disputes = provider.call("GET", "/v1/disputes", {200}, params={"limit": 100})
            dispute_id = next(
                d["id"] for d in disputes.json()["items"] if d["order_id"] == order_id
            )
        outcome = "release" if kind == "dispute_release" else "refund"
        admin.call(
            "POST",
            f"/v1/admin/disputes/{dispute_id}/resolve",
            {200, 202},
            json={"outcome": outcome},
        )
        final, paid = ("settled", COMMISSION) if outcome == "release" else ("refunded", 0)
    provider.until(
        f"order {final}", lambda: provider.order_statuses(order_id)[-1] == final, within=300
    )
    return Outcome(kind, provider.id, paid, True)


@dataclass
class Report:
    seed: int
    #: (fault, seconds until its target answers again (the killed service, PostgreSQL, the
    #: broker), until every service serves again, until every one is ready), from injection
    faults: list[tuple[str, float | None, float | None, float | None]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    duration: float = 0.0

    def table(self) -> str:
        lines = [f"seed {self.seed}: {len(self.faults)} faults in {self.duration:.0f} s", ""]
        lines.append(
            f"{'fault':<26}{'count':>6}{'target back':>19}{'serving':>19}{'ready':>19}"
            f"{'ready after back':>19}   (median / max s)"
        )
        by_type: dict[str, list[tuple[float | None, ...]]] = defaultdict(list)
        for fault, back, serving, ready in self.faults:
            after = ready - back if ready is not None and back is not None else None
            by_type[fault].append((back, serving, ready, after))
        for fault in sorted(by_type):
            times = by_type[fault]
            columns = [_spread([t[i] for t in times]) for i in range(4)]
            lines.append(
                f"{fault:<26}{len(times):>6}{columns[0]:>19}{columns[1]:>19}{columns[2]:>19}"
                f"{columns[3]:>19}"
            )
        kinds = Counter(o.kind for o in self.outcomes)
        lines += ["", "lifecycles: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))]
        lines += ["", "client-visible errors by code:"]
        lines += [f"  {n:>6}  {code}" for code, n in self.errors.most_common()] or ["  none"]
        lines += ["", "invariants: " + ("all hold" if not self.violations else "VIOLATED")]
        lines += [f"  - {v}" for v in self.violations]
        return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return f"{value:.1f} s" if value is not None else "NOT within 180 s"


def _spread(values: list[float | None]) -> str:
    """``median / max`` of the measured values; ``(!)`` when some never recovered."""
    measured = [v for v in values if v is not None]
    if not measured:
        return "never"
    text = f"{statistics.median(measured):.1f} / {max(measured):.1f}"
    return text + (" (!)" if len(measured) < len(values) else "")


def run(
    seed: int,
    faults: int,
    clients: int = 4,
    gap: tuple[float, float] = (3.0, 8.0),
    data_dir: Path | None = None,
    out: Callable[[str], None] = lambda line: print(line, flush=True),
) -> Report:
    """Start the platform, run the workload under ``faults`` injected faults, check, stop."""
    rng = random.Random(seed)
    schedule = [(rng.choice(FAULT_TYPES), rng.uniform(*gap)) for _ in range(faults)]
    report = Report(seed)
    tally = Tally()
    platform = Platform(data_dir or Path(tempfile.mkdtemp(prefix=f"ring-faults-{seed}-")))
    started = time.monotonic()
    out(f"starting the platform in {platform.data_dir}")
    try:
        platform.start()
        admin_email = f"admin-{uuid4().hex[:8]}@ring.test"
        admin_create(
            {**platform.env, "RING_DATABASE_URL": platform.database_url}, admin_email, PASSWORD
        )
        admin = Party(platform.gateway, tally, "admin", admin_email)
        owners, providers = [], []
        for _ in range(clients):
            owner = Party(platform.gateway, tally, "party_a")
            owner.call(
                "POST",
                "/v1/wallet/deposits",
                {200, 201},
                json={"amount_minor": 100_000_000, "currency": "CNY"},
                headers={"Idempotency-Key": str(uuid4())},
            )
            provider = Party(platform.gateway, tally, "party_b")
            provider.call(
                "POST",
                "/v1/providers/me/qualifications",
                {200, 201},
                json={"kind": "certificate", "reference": "CERT", "skills": ["labeling"]},
            )
            admin.call("POST", f"/v1/admin/providers/{provider.id}/verify", {200})
            owners.append(owner)
            providers.append(provider)
        stop = threading.Event()
        lock = threading.Lock()

        def client(index: int) -> None:
            local = random.Random(seed * 1000 + index)
            n = 0
            while not stop.is_set():
                n += 1
                kind = local.choice(KINDS)
                try:
                    outcome = lifecycle(kind, owners[index], providers[index], admin, n)
                except Exception as error:  # recorded: the check reports it as a violation
                    where = traceback.extract_tb(error.__traceback__)[-1]
                    detail = f"{type(error).__name__}: {error} at line {where.lineno}: {where.line}"
                    outcome = Outcome(kind, providers[index].id, -1, False, detail)
                with lock:
                    report.outcomes.append(outcome)

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
        for thread in threads:
            thread.start()
        for number, (fault, pause) in enumerate(schedule, 1):
            time.sleep(pause)
            injected_at = time.monotonic()
            if not inject(platform, fault, rng):
                out(f"[{number}/{faults}] {fault}: target not running, skipped")
                continue
            time.sleep(1.0)  # let the fault be seen before probing
            back = wait(lambda fault=fault: platform.target_back(fault), 180, every=0.1)
            back_in = time.monotonic() - injected_at if back else None
            served = wait(platform.all_serving, 180, every=0.1)
            served_in = time.monotonic() - injected_at if served else None
            recovered = wait(platform.all_ready, 180)
            recovery = time.monotonic() - injected_at if recovered else None
            report.faults.append((fault, back_in, served_in, recovery))
            out(
                f"[{number}/{faults}] {fault}: target back after {_seconds(back_in)}, "
                f"serving after {_seconds(served_in)}, ready after {_seconds(recovery)}"
            )
        stop.set()
        for thread in threads:
            thread.join(timeout=600)
        report.errors = tally.errors
        check(platform, report, providers, owners, out)
    finally:
        report.duration = time.monotonic() - started
        platform.stop()
    return report


def check(
    platform: Platform,
    report: Report,
    providers: list[Party],
    owners: list[Party],
    out: Callable[[str], None],
) -> None:
    """Wait for quiescence, then record every invariant that does not hold."""
    out("waiting for quiescence")
    violations = report.violations
    if not wait(platform.all_ready, 180):
        violations.append(f"services not ready at the end: {platform.not_ready()}")
    env = {**platform.env, "RING_DATABASE_URL": platform.database_url}
    for outcome in report.outcomes:
        if not outcome.ok:
            violations.append(f"{outcome.kind} lifecycle did not finish: {outcome.detail}")
    for name in SERVICES:  # every event in the stores is on the broker
        service = load_service(name)
        if service.translator is None or service.application_name is None:
            continue
        log = relay_log(
            load_settings(name, environ=env), service.application_name, service.translator
        )
        if not wait(lambda log=log: log.lag() == 0, 120):
            violations.append(f"relay of {name} still has {log.lag()} event(s) not yet published")
    # A lifecycle ends when its party sees the final state; the money behind it (a cancelled
    # task's escrow coming back, a payout) may still be a hop away: allow it to arrive.
    wait(lambda: not money_violations(report, providers, owners), 120, every=2)
    violations += money_violations(report, providers, owners)
    # A pooled connection PostgreSQL dropped long ago fails the first task to take it, which
    # retries on a new one: only a task still failing after a while is a violation.
    wait(lambda: not readiness_violations(platform), 30, every=1)
    violations += readiness_violations(platform)
    ledger = subprocess.run(
        [str(BIN / "ring"), "ledger", "check", "--full"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if ledger.returncode != 0:
        violations.append(f"ring ledger check failed: {ledger.stdout[-500:]}{ledger.stderr[-500:]}")
    for name in SERVICES:
        settings = load_settings(name, environ=env)
        with contextlib.suppress(psycopg.errors.UndefinedTable):
            letters = DeadLetterStore(settings.database_url, settings.db_schema).list(10)
            if letters:
                violations.append(
                    f"{name} parked {len(letters)}+ dead letter(s): {letters[0].error}"
                )
    violations += rebuild_differences(env)


def money_violations(report: Report, providers: list[Party], owners: list[Party]) -> list[str]:
    """Each provider holds exactly what its settled orders paid (wallet and statement), and no
    owner has escrow left once every lifecycle ended."""
    found = []
    expected: Counter[str] = Counter()
    for outcome in report.outcomes:
        if outcome.ok and outcome.provider is not None:
            expected[outcome.provider] += outcome.paid
    unfinished = {o.provider for o in report.outcomes if not o.ok}
    for provider in providers:
        if provider.id in unfinished:
            continue
        available = provider.wallet()["available_minor"]
        if available != expected[provider.id]:
            found.append(
                f"provider {provider.id} holds {available}, was paid for {expected[provider.id]}"
            )
        postings = provider.call(
            "GET", "/v1/wallet/statement", {200}, params={"currency": "CNY", "limit": 100}
        ).json()["postings"]
        credited = sum(p["credit_minor"] - p["debit_minor"] for p in postings)
        if credited != expected[provider.id] and len(postings) < 100:
            found.append(f"provider {provider.id}'s statement sums to {credited}")
    if not unfinished:
        for owner in owners:
            reserved = owner.wallet()["reserved_minor"]
            if reserved != 0:
                found.append(f"owner {owner.id} still has {reserved} in escrow, none open")
    return found


#: Read models fed from ``ring.task.events``: (service keeping it, its store, its class).
TASK_READ_MODELS: list[tuple[str, str, Callable[[ProjectionStore], Any]]] = [
    ("task", "task_board", TaskBoardProjection),
    ("task", "orders_by_party", OrdersByParty),
    ("matching", "matching", MatchingBoard),
    ("voucher", "voucher_views", voucher_order_directory),
    ("dispute", "dispute_views", dispute_order_directory),
]


def task_log(env: dict[str, str]) -> list[Any]:
    """Every envelope the task service's relay publishes, built from its event log (the
    store is the outbox, so this is what consumers were sent, however often)."""
    settings = load_settings("task", environ=env)
    tasks = create_application(Tasks, settings)
    relay = OutboxRelay(tasks, TASK_TRANSLATOR, settings, source="task")
    envelopes: list[Any] = []
    try:
        with relay.log.connect() as conn:
            while rows := relay.log.read_batch(
                conn, envelopes[-1].notification_id if envelopes else 0
            ):
                envelopes += [relay._envelope(row) for row in rows]
    finally:
        tasks.close()
    return envelopes


def rebuild_differences(env: dict[str, str], within: float = 60) -> list[str]:
    """Rebuild each read model of :data:`TASK_READ_MODELS` from the task log into a scratch
    schema with its own projection code, and list how the live tables differ from it.

    The live consumers may still be applying the last events: differences count only if they
    outlast ``within`` seconds.
    """
    envelopes = task_log(env)
    scratches = []
    for service, store_name, model in TASK_READ_MODELS:
        settings = load_settings(service, environ=env)
        scratch = f"rebuild_{settings.db_schema}_{store_name}"
        _drop_schema(settings, scratch)
        store = ProjectionStore(settings.database_url, scratch, store_name)
        projection = model(store)
        store.open(projection.ddl())
        try:
            processor: ExactlyOnceProcessor = projection.processor()
            for envelope in envelopes:
                processor.process(envelope)
        finally:
            store.close()
        scratches.append((settings, scratch, {f"{store_name}_tracking"}))

    def differences() -> list[str]:
        return [
            d
            for settings, scratch, skip in scratches
            for d in _table_differences(settings, scratch, skip)
        ]

    wait(lambda: not differences(), within, every=2)
    found = differences()
    for settings, scratch, _ in scratches:
        _drop_schema(settings, scratch)
    return found


def _drop_schema(settings: Settings, schema: str) -> None:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(schema)))


def _table_differences(settings: Settings, scratch: str, skip: set[str]) -> list[str]:
    """Rows of each table of ``scratch`` that its live namesake lacks, or has in excess."""
    live = settings.db_schema
    found = []
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "ORDER BY table_name",
                (scratch,),
            )
            if row[0] not in skip
        ]
        for table in tables:
            rows = SQL("SELECT to_jsonb(t) AS row FROM {}.{} t")
            ours, theirs = (
                rows.format(Identifier(live), Identifier(table)),
                rows.format(Identifier(scratch), Identifier(table)),
            )
            for label, left, right in (("stale or extra", ours, theirs), ("missing", theirs, ours)):
                differing = conn.execute(
                    SQL("SELECT row::text FROM ({} EXCEPT ALL {}) d").format(left, right)
                ).fetchall()
                if differing:
                    found.append(
                        f"{live}.{table}: {len(differing)} row(s) {label} against a rebuild, "
                        f"e.g. {differing[0][0][:300]}"
                    )
    return found


def readiness_violations(platform: Platform) -> list[str]:
    """Every relay, consumer and background task that is not healthy, by service."""
    found = []
    for name in SERVICES:
        try:
            checks = httpx.get(f"http://127.0.0.1:{SERVICE_PORTS[name]}/ready", timeout=5).json()
        except (httpx.HTTPError, ValueError) as error:
            found.append(f"{name}: /ready unreadable ({error!r})")
            continue
        relay = checks.get("relay")
        if relay is not None and not (relay["ok"] and relay["leader"]):
            found.append(f"{name}: relay not leading or failing: {relay}")
        tasks = {**checks.get("consumers", {}), **checks.get("background", {})}
        found += [f"{name}: {task} failing: {h}" for task, h in tasks.items() if not h["ok"]]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--faults", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--min-gap", type=float, default=3.0, help="seconds between faults")
    parser.add_argument("--max-gap", type=float, default=8.0)
    args = parser.parse_args()
    report = run(args.seed, args.faults, args.clients, (args.min_gap, args.max_gap))
    print(report.table())
    sys.exit(1 if report.violations else 0)


if __name__ == "__main__":
    main()
