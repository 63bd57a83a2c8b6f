"""Small process and network helpers shared by the embedded servers and the supervisor."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None] | None:
    """Return a ``preexec_fn`` that makes the child receive ``sig`` when its parent dies.

    Linux only (``prctl(PR_SET_PDEATHSIG)``); elsewhere ``None``. It is a safety net for a
    parent killed with SIGKILL: a clean stop never relies on it.
    """
    if not sys.platform.startswith("linux"):
        return None

    def _preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return _preexec


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port`` or holds the port bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        if probe.connect_ex((host, port)) == 0:
            return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as binder:
        # Servers bind with SO_REUSEADDR, so connections left in TIME_WAIT by a previous run
        # (e.g. a restart) do not make the port look taken.
        binder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            binder.bind((host, port))
        except OSError:
            return True
    return False


def accepts_tcp(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``host:port`` accepts a TCP connection right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file, or a note that it is empty or missing."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else f"(log {path} is empty)"


def stop_process(
    process: subprocess.Popen[bytes],
    *,
    first_signal: signal.Signals = signal.SIGTERM,
    timeout: float = 10.0,
) -> int:
    """Send ``first_signal`` to the process group of ``process``, SIGKILL it after ``timeout``.

    The child must have been started with ``start_new_session=True`` so that its group holds
    only it and its own children. Returns the exit status (negative: killed by a signal).
    """
    if process.poll() is not None:
        return process.returncode
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, first_signal)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.wait()


def wait_until(
    condition: Callable[[], bool],
    *,
    deadline: float,
    interval: float = 0.05,
    alive: Callable[[], bool] = lambda: True,
) -> bool:
    """Poll ``condition`` until it holds (True), ``alive`` turns False or ``deadline`` passes."""
    while time.monotonic() < deadline:
        if condition():
            return True
        if not alive():
            return False
        time.sleep(interval)
    return condition()
