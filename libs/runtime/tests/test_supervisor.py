"""The supervisor with plain Python child processes: output, restarts, clean stop."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ring_runtime.supervisor import ChildSpec, RestartPolicy, Supervisor, describe_exit

FAST = RestartPolicy(initial_delay=0.1, max_delay=0.4, healthy_after=60)


def py(code: str) -> list[str]:
    return [sys.executable, "-u", "-c", code]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); read its state
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_first_crash_restarts_at_once_then_backoff_doubles_up_to_the_cap() -> None:
    policy = RestartPolicy(initial_delay=1, max_delay=30)
    assert [policy.delay(n) for n in range(1, 9)] == [0, 1, 2, 4, 8, 16, 30, 30]


def test_exit_descriptions() -> None:
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(-signal.SIGKILL) == "was killed by signal SIGKILL"


async def test_output_lines_are_prefixed_with_aligned_names() -> None:
    out = io.StringIO()
    specs = [
        ChildSpec("a", py("print('hello'); print('two'); import time; time.sleep(30)")),
        ChildSpec(
            "longer", py("import sys; sys.stderr.write('oops\\n'); import time; time.sleep(30)")
        ),
    ]
    supervisor = Supervisor(specs, output=out, color=False, policy=FAST)
    await supervisor.start()
    try:
        await until(lambda: "two" in out.getvalue() and "oops" in out.getvalue())
    finally:
        await supervisor.stop()
    lines = out.getvalue().splitlines()
    assert "a      | hello" in lines
    assert "a      | two" in lines
    assert "longer | oops" in lines


async def test_colored_prefix_when_asked() -> None:
    out = io.StringIO()
    supervisor = Supervisor([ChildSpec("svc", py("print('x')"))], output=out, color=True)
    await supervisor.start()
    try:
        await until(lambda: "| x" in out.getvalue())
    finally:
        await supervisor.stop()
    assert "\x1b[" in out.getvalue()


async def test_crashed_child_is_reported_and_restarted_with_backoff(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    code = f"open({str(starts)!r}, 'a').write('x'); import sys; print('dying'); sys.exit(3)"
    out = io.StringIO()
    supervisor = Supervisor([ChildSpec("crashy", py(code))], output=out, color=False, policy=FAST)
    began = time.monotonic()
    await supervisor.start()
    try:
        await until(lambda: starts.exists() and len(starts.read_text()) >= 4)
    finally:
        await supervisor.stop()
    elapsed = time.monotonic() - began
    text = out.getvalue()
    assert "crashy exited with code 3; restarting in 0 s (crash 1 in a row)" in text
    assert "restarting in 0.1 s (crash 2 in a row)" in text
    assert "restarting in 0.2 s (crash 3 in a row)" in text
    assert supervisor.restarts()["crashy"] >= 3
    assert elapsed >= 0.1 + 0.2  # the waits really happened


async def test_kill_by_signal_is_reported() -> None:
    out = io.StringIO()
    supervisor = Supervisor(
        [ChildSpec("victim", py("import time; time.sleep(30)"))],
        output=out,
        color=False,
        policy=RestartPolicy(initial_delay=5, max_delay=5),
    )
    await supervisor.start()
    try:
        os.kill(supervisor.pids()["victim"], signal.SIGKILL)
        await until(lambda: "victim was killed by signal SIGKILL" in out.getvalue())
    finally:
        await supervisor.stop()  # also cuts the 5 s backoff short


async def test_healthy_run_resets_the_backoff() -> None:
    policy = RestartPolicy(initial_delay=0.1, max_delay=10, healthy_after=0.3)
    out = io.StringIO()
    code = "import time, sys; time.sleep(0.4); sys.exit(1)"
    supervisor = Supervisor([ChildSpec("slow", py(code))], output=out, color=False, policy=policy)
    await supervisor.start()
    try:
        await until(lambda: out.getvalue().count("restarting") >= 3)
    finally:
        await supervisor.stop()
    assert "crash 2 in a row" not in out.getvalue()


async def test_stop_leaves_no_process_behind(tmp_path: Path) -> None:
    grandchild_pid = tmp_path / "grandchild"
    spawner = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(grandchild_pid)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    specs = [ChildSpec("spawner", py(spawner)), ChildSpec("stubborn", py(stubborn))]
    supervisor = Supervisor(specs, output=io.StringIO(), color=False, stop_timeout=0.5)
    await supervisor.start()
    await until(lambda: grandchild_pid.exists() and grandchild_pid.read_text() != "")
    pids = [*supervisor.pids().values(), int(grandchild_pid.read_text())]
    assert len(pids) == 3
    assert all(alive(pid) for pid in pids)
    await asyncio.sleep(0.2)  # let "stubborn" install its SIGTERM handler
    await supervisor.stop()
    await until(lambda: not any(alive(pid) for pid in pids), within=5)
    assert supervisor.pids() == {}


async def test_run_stops_on_sigterm_to_the_supervisor(tmp_path: Path) -> None:
    """The whole `run` path in a subprocess: SIGTERM to it stops its child."""
    child_pid = tmp_path / "pid"
    script = tmp_path / "sup.py"
    script.write_text(
        "import asyncio, sys\n"
        "from ring_runtime.supervisor import ChildSpec, Supervisor\n"
        "code = 'import os, time; open(%r, \"w\").write(str(os.getpid())); time.sleep(60)'\n"
        f"spec = ChildSpec('c', [sys.executable, '-c', code % {str(child_pid)!r}])\n"
        "asyncio.run(Supervisor([spec]).run())\n"
        "print('supervisor done')\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), stdout=asyncio.subprocess.PIPE
    )
    await until(lambda: child_pid.exists() and child_pid.read_text() != "")
    pid = int(child_pid.read_text())
    proc.send_signal(signal.SIGTERM)
    stdout, _ = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 0
    assert b"supervisor done" in stdout
    assert not alive(pid)


@pytest.mark.parametrize("bad", [["/nonexistent/program"]])
async def test_start_failure_raises(bad: list[str]) -> None:
    supervisor = Supervisor([ChildSpec("bad", bad)], output=io.StringIO())
    with pytest.raises(FileNotFoundError, match="nonexistent"):
        await supervisor.start()
    await supervisor.stop()


async def test_killed_postgres_and_broker_are_restarted_on_their_ports(tmp_path: Path) -> None:
    """kill -9 of the embedded PostgreSQL and broker: both serve again, same port and data."""
    import psycopg

    from ring_runtime.embedded import EmbeddedBroker, EmbeddedPostgres, free_port, metadata_error

    postgres = EmbeddedPostgres(tmp_path / "pg", free_port()).start()  # durable: survives kill -9
    broker = EmbeddedBroker(free_port(), log_path=tmp_path / "tansu.log").start()
    try:
        with psycopg.connect(postgres.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
        out = io.StringIO()
        supervisor = Supervisor(
            [], servers={"postgres": postgres, "broker": broker}, policy=FAST, output=out
        )
        await supervisor.start()
        try:
            old = {"postgres": postgres.pid, "broker": broker.pid}
            for pid in old.values():
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
            await until(lambda: supervisor.restarts() == {"postgres": 1, "broker": 1}, 60)
            assert postgres.pid not in (None, old["postgres"])
            assert broker.pid not in (None, old["broker"])
            with psycopg.connect(postgres.url) as conn:
                assert conn.execute("SELECT n FROM kept").fetchone() == (42,)
            assert await asyncio.to_thread(metadata_error, broker.bootstrap) is None
            assert "postgres is down; restarting it" in out.getvalue()
        finally:
            await supervisor.stop()
    finally:
        broker.stop()
        postgres.stop()
