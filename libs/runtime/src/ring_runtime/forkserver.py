"""A fork server for ``ring run``: every service process starts from one that imported it all.

A service process spends most of its start importing (litestar and its OpenAPI machinery,
faststream and pydantic, psycopg, opentelemetry…: about 5 s of CPU on the reference machine,
far more under load), so a killed service cannot answer again within 5 s if each restart
imports afresh (issue 17). The fork server is one process that imports every installed service
once, then waits for requests on a socket; each request forks a child that becomes one service
(``ring serve NAME`` from the point after the imports). Starting the whole platform imports
once instead of once per service.

The fork server forks only while it is a single thread with no event loop and no socket other
than its control socket, so a child inherits no lock held by another thread and no connection
another process also uses: it checks that before serving any request and refuses to start
otherwise (the supervisor then spawns services the ordinary way).

A child is forked twice over: the intermediate process exits at once, so the service is
adopted by the supervisor (``PR_SET_CHILD_SUBREAPER``), which waits for it, reads its exit
status and restarts it exactly like a process it had spawned itself. Each child gets its own
session (its process group is its pid), output pipe (handed over with the request, as
``SCM_RIGHTS``) and environment.

Kubernetes does not use this: a pod's container runs ``ring serve NAME`` and the kubelet
restarts it (decision 0010).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import importlib
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import click

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15
_PR_SET_CHILD_SUBREAPER = 36
#: Modules a service imports only while building its app (litestar's default plugins, the
#: httpx instrumentation of the clients to other services…): about a second of CPU per start
#: that the fork server pays once. Found by comparing ``sys.modules`` before and after
#: ``create_app`` of the task service and the gateway.
_BUILD_TIME_MODULES = (
    "attrs",
    "h11",
    "httpcore",
    "litestar._kwargs",
    "litestar.exceptions.responses",
    "litestar.logging.standard",
    "litestar.middleware.allowed_hosts",
    "litestar.middleware.csrf",
    "litestar.middleware.response_cache",
    "litestar.plugins.attrs",
    "litestar.plugins.opentelemetry",
    "litestar.plugins.pydantic",
    "opentelemetry.instrumentation.httpx",
    "packaging.requirements",
    "packaging.tags",
    "pydantic.v1",
    "uvicorn.lifespan.on",
    "uvicorn.loops.auto",
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.websockets.auto",
)
#: Largest request (one service's environment) the control socket carries.
_MAX_REQUEST = 1 << 20


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux ``PR_SET_CHILD_SUBREAPER``); False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)


def process_name(service: str) -> str:
    """The name (``/proc/PID/comm``, at most 15 bytes) of a service forked by the fork server:
    its command line is the fork server's, so this is how ``ps`` and tools tell them apart."""
    return f"ring-{service}"[:15]


def single_threaded() -> bool:
    """Whether this process runs one thread only (Python's and any native library's)."""
    return threading.active_count() == 1 and len(os.listdir("/proc/self/task")) == 1


class ForkServerClient:
    """The supervisor's end of the control socket.

    Requests are sent one at a time (blocking; the supervisor calls :meth:`spawn` in a thread).
    """

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock = sock
        self._sock.settimeout(timeout)
        self._lock = threading.Lock()

    def spawn(self, name: str, env: Mapping[str, str], cwd: Path | None, output_fd: int) -> int:
        """Fork a child that serves ``name`` with ``env`` in ``cwd``, writing to ``output_fd``;
        return its pid.

        Raises:
            OSError: the fork server is gone, refused, or did not answer in time.
        """
        fields = {"service": name, "env": dict(env), "cwd": str(cwd) if cwd else None}
        request = json.dumps(fields).encode()
        with self._lock:
            socket.send_fds(self._sock, [request], [output_fd])
            answer = self._sock.recv(_MAX_REQUEST)
        if not answer:
            raise ConnectionError("the fork server has exited")
        reply = json.loads(answer)
        if "pid" not in reply:
            raise OSError(f"the fork server refused: {reply.get('error')}")
        return int(reply["pid"])

    def close(self) -> None:
        """Close the socket: the fork server then exits."""
        self._sock.close()


class ForkedProcess:
    """A service forked by the fork server and adopted by this process, waited like a child.

    It offers what the supervisor uses of :class:`asyncio.subprocess.Process`: ``pid``,
    ``returncode``, ``stdout`` and ``wait()``.
    """

    def __init__(self, pid: int, stdout: asyncio.StreamReader) -> None:
        self.pid = pid
        self.stdout: asyncio.StreamReader | None = stdout
        self.returncode: int | None = None
        self._exited: asyncio.Future[int] | None = None

    @classmethod
    async def adopt(cls, pid: int, output_fd: int) -> ForkedProcess:
        """Watch ``pid`` (already adopted) and read its output from the pipe ``output_fd``."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        pipe = os.fdopen(output_fd, "rb", buffering=0)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
        return cls(pid, reader)

    async def wait(self) -> int:
        """Wait until the process exits; its exit status (negative: killed by that signal)."""
        if self._exited is None:
            self._exited = asyncio.get_running_loop().create_future()
            self._watch(self._exited)
        return await asyncio.shield(self._exited)

    def _watch(self, exited: asyncio.Future[int]) -> None:
        loop = asyncio.get_running_loop()
        pidfd = os.pidfd_open(self.pid)

        def reap() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
            if not exited.done():
                exited.set_result(self.returncode)

        loop.add_reader(pidfd, reap)


# -- the fork server process ------------------------------------------------------------------


def _become_service(
    request: dict[str, object], output_fd: int, control: socket.socket, middle: int
) -> None:
    """In the forked child of the intermediate process ``middle``: take the service's session,
    output and environment, then serve."""
    code = 1
    try:
        os.setsid()
        _wait_adopted(middle)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        name = str(request["service"])
        # Its command line stays the fork server's; ps, top and psutil show this name instead.
        libc.prctl(_PR_SET_NAME, process_name(name).encode(), 0, 0, 0)
        control.close()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(devnull)
        os.close(output_fd)
        env = request["env"]
        assert isinstance(env, dict)
        os.environ.clear()
        os.environ.update(env)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        gc.unfreeze()
        sys.argv = ["ring serve", name]
        from ring_runtime.commands.serve import serve_service

        cwd = request.get("cwd")
        if isinstance(cwd, str):
            os.chdir(cwd)
        serve_service(name)
        code = 0
    except click.ClickException as error:
        error.show()
        code = error.exit_code
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:  # the child must never return into the fork server's loop
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _wait_adopted(middle: int) -> None:
    """Wait until the intermediate process ``middle`` has exited and this one has a new parent.

    ``middle`` is the pid the intermediate process had before it forked, not this process's
    parent as read here: the intermediate process often exits before this one gets to run, and
    then the parent read here is already the supervisor, so this waited its whole 5 s bound
    (seen as a restart of 5-6 s in ``bench/service_restart.py``).
    """
    deadline = time.monotonic() + 5
    while os.getppid() == middle and time.monotonic() < deadline:
        time.sleep(0.001)


def _fork(request: dict[str, object], output_fd: int, control: socket.socket) -> int:
    """Fork twice: the grandchild becomes the service; return its pid."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    read_end, write_end = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(read_end)
            middle_pid = os.getpid()
            child = os.fork()
            if child == 0:
                os.close(write_end)
                _become_service(request, output_fd, control, middle_pid)
            os.write(write_end, str(child).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        pid = pipe.read()
    os.waitpid(middle, 0)
    return int(pid)


def serve_requests(control: socket.socket) -> None:
    """Import every installed service, then fork one child per request until the socket closes."""
    from ring_runtime.service import registered_services

    registered_services()  # imports each service's code (and the runtime) once, for every child
    for module in _BUILD_TIME_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    gc.collect()
    gc.freeze()  # the imported objects stay shared with the children instead of being copied
    print("fork server ready", flush=True)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, _MAX_REQUEST, 1)
        except ConnectionError:
            return
        if not message:
            return
        if not fds:
            control.sendall(json.dumps({"error": "no output pipe"}).encode())
            continue
        if not single_threaded():
            control.sendall(json.dumps({"error": "the fork server runs threads"}).encode())
            os.close(fds[0])
            continue
        try:
            pid = _fork(json.loads(message), fds[0], control)
        except OSError as error:
            control.sendall(json.dumps({"error": str(error)}).encode())
        else:
            control.sendall(json.dumps({"pid": pid}).encode())
        finally:
            os.close(fds[0])


def main() -> None:
    """``python -m ring_runtime.forkserver FD``: serve fork requests on the socket FD."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    control = socket.socket(fileno=int(sys.argv[1]))
    print(f"fork server importing the services (pid {os.getpid()})", flush=True)
    began = time.monotonic()
    try:
        serve_requests(control)
    finally:
        control.close()
        print(f"fork server stopped after {time.monotonic() - began:.0f} s", flush=True)


if __name__ == "__main__":
    main()
