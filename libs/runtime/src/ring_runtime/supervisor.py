"""Run several OS processes in the foreground: prefixed output, restart on crash, clean stop.

Each child runs in its own process group (``start_new_session``) so that stopping it reaches
everything it started, and Ctrl-C in the terminal reaches only the supervisor, which then stops
the children in order. A crashed child is reported and restarted with exponential backoff.

Children that are Ring services can be forked from a fork server (:mod:`ring_runtime.forkserver`)
that imported every service once, instead of starting a fresh interpreter each time: a killed
service then answers again in a fraction of the time. A child spawned either way is watched,
restarted and stopped the same way; when the fork server is down or refuses, the child is
started from its ``argv``.

Servers the caller started itself (the embedded PostgreSQL and broker: any object with
``start()``, ``stop()`` and ``pid``) are watched too: one that dies is started again, on the same
port and data directory, with the same backoff. The caller stops them after the supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

from ring_runtime.embedded._process import die_with_parent
from ring_runtime.forkserver import ForkedProcess, ForkServerClient, become_subreaper

_COLORS = ("36", "33", "35", "32", "34", "91", "96", "93")
_RESET = "\x1b[0m"
#: Seconds to wait for the fork server's answer; the first one waits for its imports, which
#: take over a minute on a starved machine (bench/RESULTS.md "Where a service restart's time
#: goes").
_FORK_TIMEOUT = 180.0


@dataclass(frozen=True)
class ChildSpec:
    """One process to supervise.

    Attributes:
        name: label printed in front of every output line.
        argv: program and arguments.
        env: complete environment of the child (default: the supervisor's).
        cwd: working directory (default: the supervisor's).
        service: the Ring service the fork server can make this child into; ``None`` to
            always start ``argv``.
    """

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    service: str | None = None


class RunningProcess(Protocol):
    """What the supervisor uses of a running child, spawned or forked."""

    @property
    def pid(self) -> int:
        """Process id (also its process group: every child has its own session)."""
        ...

    @property
    def returncode(self) -> int | None:
        """Exit status once waited for; ``None`` while it runs."""
        ...

    @property
    def stdout(self) -> asyncio.StreamReader | None:
        """Its standard output and error, merged."""
        ...

    async def wait(self) -> int:
        """Wait for the exit; its status."""
        ...


class Server(Protocol):
    """A server the caller runs (embedded PostgreSQL, a broker) that the supervisor revives."""

    @property
    def pid(self) -> int | None:
        """Process id while the server runs, ``None`` once it has exited."""
        ...

    def start(self) -> object:
        """Start the server on its port (and data directory) and wait until it serves."""
        ...

    def stop(self) -> None:
        """Stop the server."""
        ...


@dataclass(frozen=True)
class RestartPolicy:
    """Backoff between restarts of a crashed child.

    The first crash after a healthy run is restarted at once: a single crash (a killed
    process, a task that died) is the common case, and every second of waiting is a second
    of unavailability. Crashing again in a row backs off exponentially, so a child that
    cannot start does not spin. A run counts as healthy after 10 s: a service forked from the
    fork server serves within about a second of its start, and with 60 s two kills of one
    service a few seconds apart (a fault run, an operator's bad minute) made the second
    restart wait 1 s and the third 2 s, past the 5 s within which a killed service must serve
    again (issue 17).

    Attributes:
        initial_delay: wait before the second restart in a row (seconds); doubles after that.
        max_delay: cap of the wait.
        healthy_after: a child that ran this long counts as healthy; the backoff starts over.
    """

    initial_delay: float = 1.0
    max_delay: float = 30.0
    healthy_after: float = 10.0

    def delay(self, consecutive_crashes: int) -> float:
        """Wait before restarting after the ``consecutive_crashes``-th crash in a row (>= 1)."""
        if consecutive_crashes <= 1:
            return 0.0
        return float(min(self.initial_delay * 2 ** (consecutive_crashes - 2), self.max_delay))


def describe_exit(returncode: int) -> str:
    """Human wording of a process exit status (negative means killed by a signal)."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"was killed by signal {name}"
    return f"exited with code {returncode}"


@dataclass
class _Child:
    spec: ChildSpec
    process: RunningProcess | None = None
    crashes: int = 0
    restarts: int = 0
    exits: list[int] = field(default_factory=list)


class Supervisor:
    """Start, watch and stop a set of child processes.

    Args:
        specs: the children, started in this order.
        policy: restart backoff.
        output: where prefixed child output and supervisor messages go.
        color: color the prefixes; default when ``output`` is a TTY.
        stop_timeout: seconds between SIGTERM and SIGKILL when stopping a child.
        servers: servers already started by the caller, by name, to restart when they die.
        fork_server: how to start the fork server (the supervisor appends its socket's file
            descriptor to ``argv``); ``None`` starts every child from its ``argv``.
    """

    def __init__(
        self,
        specs: Sequence[ChildSpec],
        *,
        servers: Mapping[str, Server] | None = None,
        policy: RestartPolicy | None = None,
        output: TextIO | None = None,
        color: bool | None = None,
        stop_timeout: float = 10.0,
        fork_server: ChildSpec | None = None,
    ) -> None:
        self.policy = policy or RestartPolicy()
        self.output = output or sys.stdout
        self.color = self.output.isatty() if color is None else color
        self.stop_timeout = stop_timeout
        self._children = {spec.name: _Child(spec) for spec in specs}
        self._servers = dict(servers or {})
        self._server_restarts = dict.fromkeys(self._servers, 0)
        self._width = max(
            [len(s.name) for s in specs]
            + [len("ring")]
            + ([len(fork_server.name)] if fork_server else [])
        )
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._fork_spec = fork_server
        self._fork_client: ForkServerClient | None = None
        self._fork_process: asyncio.subprocess.Process | None = None

    # -- public API -------------------------------------------------------------------------

    async def start(self) -> None:
        """Spawn every child (in order) and keep watching them and the servers in background."""
        for name, server in self._servers.items():
            task = asyncio.create_task(self._watch_server(name, server), name=f"watch-{name}")
            self._tasks.append(task)
        if self._fork_spec is not None and become_subreaper():
            await self._start_fork_server(self._fork_spec)
            task = asyncio.create_task(self._watch_fork_server(self._fork_spec), name="watch-fork")
            self._tasks.append(task)
        for index, child in enumerate(self._children.values()):
            await self._spawn(child)
            task = asyncio.create_task(self._watch(child, index), name=f"watch-{child.spec.name}")
            self._tasks.append(task)

    async def wait(self) -> None:
        """Return once :meth:`request_stop` was called."""
        await self._stopping.wait()

    def request_stop(self) -> None:
        """Ask :meth:`run` / :meth:`wait` to return; safe to call from a signal handler."""
        self._stopping.set()

    async def stop(self) -> None:
        """Stop every child: SIGTERM to its process group, SIGKILL after ``stop_timeout``."""
        self._stopping.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def run(
        self, on_started: Callable[[], Coroutine[None, None, None]] | None = None
    ) -> None:
        """Start everything, run until SIGINT/SIGTERM (or :meth:`request_stop`), then stop.

        Args:
            on_started: coroutine function run in the background once every child is spawned
                (e.g. wait for health and print a banner); cancelled when stopping.
        """
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop)
        follow_up: asyncio.Task[None] | None = None
        try:
            await self.start()
            if on_started is not None:
                follow_up = asyncio.create_task(on_started())
            await self.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            if follow_up is not None:
                follow_up.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follow_up
            await self.stop()

    def pids(self) -> dict[str, int]:
        """Process id of every child currently running, by name."""
        return {
            name: child.process.pid
            for name, child in self._children.items()
            if child.process is not None and child.process.returncode is None
        }

    def restarts(self) -> dict[str, int]:
        """How many times each child and each server was restarted after a crash."""
        return {
            **{name: child.restarts for name, child in self._children.items()},
            **self._server_restarts,
        }

    def say(self, message: str) -> None:
        """Print a supervisor message, prefixed like the children's lines."""
        self._write("ring", message, color="1")

    # -- internals -------------------------------------------------------------------------

    async def _spawn(self, child: _Child) -> None:
        spec = child.spec
        client = self._fork_client
        if spec.service is not None and client is not None:
            try:
                child.process = await self._fork(client, spec, spec.service)
                return
            except OSError as error:
                self.say(f"{spec.name}: fork server failed ({error}); starting its program")
                self._drop_fork_server()
        child.process = await asyncio.create_subprocess_exec(
            *spec.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(spec.env) if spec.env is not None else None,
            cwd=spec.cwd,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )

    async def _fork(self, client: ForkServerClient, spec: ChildSpec, service: str) -> ForkedProcess:
        """Have the fork server fork ``service``, writing into a pipe this process reads."""
        read_fd, write_fd = os.pipe()
        try:
            env = dict(spec.env) if spec.env is not None else dict(os.environ)
            pid = await asyncio.to_thread(client.spawn, service, env, spec.cwd, write_fd)
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        return await ForkedProcess.adopt(pid, read_fd)

    async def _start_fork_server(self, spec: ChildSpec) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._fork_process = await asyncio.create_subprocess_exec(
                *spec.argv,
                str(theirs.fileno()),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=dict(spec.env) if spec.env is not None else None,
                cwd=spec.cwd,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGTERM),
                pass_fds=(theirs.fileno(),),
            )
        except OSError as error:
            ours.close()
            self.say(f"the fork server could not be started: {error}")
            return
        finally:
            theirs.close()
        self._fork_client = ForkServerClient(ours, timeout=_FORK_TIMEOUT)

    def _drop_fork_server(self) -> None:
        """Stop using the fork server and end it (its watcher starts a new one)."""
        if self._fork_client is not None:
            self._fork_client.close()
            self._fork_client = None
        if self._fork_process is not None and self._fork_process.returncode is None:
            _kill_group(self._fork_process.pid, signal.SIGKILL)

    async def _watch_fork_server(self, spec: ChildSpec) -> None:
        """Pump the fork server's output; start it again (with backoff) when it ends."""
        crashes = 0
        while (process := self._fork_process) is not None:
            started = time.monotonic()
            stand_in = _Child(spec, process)
            code = await self._run_once(stand_in, process, "90")
            self._drop_fork_server()
            if self._stopping.is_set():
                return
            crashes = 1 if time.monotonic() - started >= self.policy.healthy_after else crashes + 1
            delay = self.policy.delay(crashes)
            self.say(f"{spec.name} {describe_exit(code)}; restarting it in {delay:g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            if self._stopping.is_set():
                return
            self._fork_process = None
            await self._start_fork_server(spec)

    async def _watch(self, child: _Child, index: int) -> None:
        color = _COLORS[index % len(_COLORS)]
        while True:
            process = child.process
            assert process is not None
            started = time.monotonic()
            code = await self._run_once(child, process, color)
            if self._stopping.is_set():
                return
            child.exits.append(code)
            if time.monotonic() - started >= self.policy.healthy_after:
                child.crashes = 0
            if not await self._restart_after_crash(child):
                return

    async def _run_once(self, child: _Child, process: RunningProcess, color: str) -> int:
        """Pump the output of ``process`` until it exits or a stop is requested."""
        pump = asyncio.create_task(self._pump(child.spec.name, process, color))
        exited = asyncio.create_task(process.wait())
        stopping = asyncio.create_task(self._stopping.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not exited.done():
            await self._terminate(child)
        code = await exited
        _kill_group(process.pid, signal.SIGKILL)
        try:
            await asyncio.wait_for(pump, 2.0)
        except TimeoutError:
            self.say(f"{child.spec.name}: output still open after exit; detached")
        return code

    async def _restart_after_crash(self, child: _Child) -> bool:
        """Report the crash, wait the backoff, respawn; False when a stop came first."""
        while True:
            child.crashes += 1
            delay = self.policy.delay(child.crashes)
            last = describe_exit(child.exits[-1]) if child.exits else "could not start"
            self.say(
                f"{child.spec.name} {last}; restarting in {delay:g} s "
                f"(crash {child.crashes} in a row)"
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            if self._stopping.is_set():
                return False
            try:
                await self._spawn(child)
            except OSError as error:
                self.say(f"{child.spec.name} could not be started: {error}")
                continue
            child.restarts += 1
            return True

    async def _watch_server(self, name: str, server: Server) -> None:
        """Start ``server`` again whenever it is found dead, with the restart backoff."""
        crashes = 0
        started = time.monotonic()
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 0.25)
            if self._stopping.is_set() or server.pid is not None:
                continue
            if time.monotonic() - started >= self.policy.healthy_after:
                crashes = 0
            crashes += 1
            delay = self.policy.delay(crashes)
            self.say(f"{name} is down; restarting it in {delay:g} s (crash {crashes} in a row)")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            if self._stopping.is_set():
                return
            try:
                await asyncio.to_thread(server.start)
            except Exception as error:  # reported; the next round tries again
                self.say(f"{name} could not be restarted: {error}")
                continue
            started = time.monotonic()
            self._server_restarts[name] += 1
            self.say(f"{name} restarted (pid {server.pid})")

    async def _pump(self, name: str, process: RunningProcess, color: str) -> None:
        stream = process.stdout
        assert stream is not None
        pending = b""
        while chunk := await stream.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._write(name, line.decode(errors="replace").rstrip("\r"), color)
        if pending:
            self._write(name, pending.decode(errors="replace"), color)

    def _write(self, name: str, text: str, color: str) -> None:
        label = f"{name:<{self._width}}"
        if self.color:
            label = f"\x1b[{color}m{label}{_RESET}"
        self.output.write(f"{label} | {text}\n")
        self.output.flush()

    async def _terminate(self, child: _Child) -> None:
        process = child.process
        if process is None or process.returncode is not None:
            return
        _kill_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(process.wait()), self.stop_timeout)
        except TimeoutError:
            self.say(f"{child.spec.name} did not stop in {self.stop_timeout:g} s; killing it")
            _kill_group(process.pid, signal.SIGKILL)
            await process.wait()


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
