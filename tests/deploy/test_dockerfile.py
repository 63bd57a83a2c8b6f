"""The Dockerfile, its two helper scripts and .dockerignore (no Docker engine needed).

hadolint (with ShellCheck built in) lints the Dockerfile; the builder stage's `uv sync` is
replayed into a temporary venv from the same files the build context holds; the entrypoint and
the health check run for real against stand-ins.
"""

from __future__ import annotations

import fnmatch
import http.server
import json
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import ROOT, registered_service_names, run, venv_tool

DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "deploy" / "docker" / "entrypoint.sh"
HEALTHCHECK = ROOT / "deploy" / "docker" / "healthcheck.py"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def stages() -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    current = None
    for keyword, rest in instructions():
        if keyword == "FROM":
            current = rest.split(" AS ")[-1].strip()
            found[current] = []
        elif current:
            found[current].append((keyword, rest))
    return found


def test_hadolint_passes() -> None:
    result = run([venv_tool("hadolint"), "--no-color", DOCKERFILE])
    assert result.returncode == 0, result.stdout + result.stderr


def test_multi_stage_on_the_official_python_image() -> None:
    text = DOCKERFILE.read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert [k for k, _ in instructions()].count("FROM") == 2
    assert set(stages()) == {"builder", "runtime"}
    builder = " ".join(rest for _, rest in stages()["builder"])
    assert 'pip install --no-cache-dir "uv==' in builder
    assert "uv sync --locked --all-packages --no-dev --no-editable" in builder


def test_runtime_stage_is_non_root_and_read_only_friendly() -> None:
    runtime = stages()["runtime"]
    env = " ".join(rest for keyword, rest in runtime if keyword == "ENV")
    for setting in (
        "HOME=/tmp",
        "TMPDIR=/tmp",
        "RING_SERVICE=${SERVICE}",
        "RING_HTTP_HOST=0.0.0.0",
        "PYTHONDONTWRITEBYTECODE=1",
    ):
        assert setting in env
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users == ["10001:10001"]
    copies = [rest for keyword, rest in runtime if keyword == "COPY"]
    assert any(c.startswith("--from=builder") and "/app/.venv" in c for c in copies)
    assert not any("--from=builder /src" in c for c in copies), "sources stay in the builder"
    healthcheck = next(rest for keyword, rest in runtime if keyword == "HEALTHCHECK")
    assert '"/health"' in healthcheck
    entrypoint = next(rest for keyword, rest in runtime if keyword == "ENTRYPOINT")
    assert json.loads(entrypoint) == ["/usr/local/bin/ring-entrypoint"]  # exec form


@pytest.fixture
def fake_ring(tmp_path: Path) -> Path:
    """A `ring` that prints its arguments, first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ring = bin_dir / "ring"
    ring.write_text('#!/bin/sh\necho "ring $*"\n')
    ring.chmod(0o755)
    return bin_dir


def test_entrypoint_serves_the_baked_in_service(fake_ring: Path) -> None:
    env = {"PATH": f"{fake_ring}:/usr/bin:/bin", "RING_SERVICE": "task"}
    result = run(["sh", ENTRYPOINT], env=env)
    assert (result.returncode, result.stdout.strip()) == (0, "ring serve task")


def test_entrypoint_runs_any_other_command(fake_ring: Path) -> None:
    env = {"PATH": f"{fake_ring}:/usr/bin:/bin", "RING_SERVICE": "task"}
    result = run(["sh", ENTRYPOINT, "ring", "settings"], env=env)
    assert (result.returncode, result.stdout.strip()) == (0, "ring settings")


def test_entrypoint_refuses_to_start_without_a_service(fake_ring: Path) -> None:
    result = run(["sh", ENTRYPOINT], env={"PATH": f"{fake_ring}:/usr/bin:/bin"})
    assert result.returncode != 0
    assert "RING_SERVICE" in result.stderr


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service_port() -> Iterator[int]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("path", "status"), [("/health", 0), ("/ready", 1)])
def test_healthcheck_reports_the_endpoint_status(service_port: int, path: str, status: int) -> None:
    env = {**os.environ, "RING_SERVICE": "task", "RING_HTTP_PORT": str(service_port)}
    result = run([sys.executable, HEALTHCHECK, path], env=env)
    assert result.returncode == status, result.stderr


def test_healthcheck_fails_when_nothing_listens(free_tcp_port: int) -> None:
    env = {**os.environ, "RING_SERVICE": "task", "RING_HTTP_PORT": str(free_tcp_port)}
    assert run([sys.executable, HEALTHCHECK], env=env).returncode == 1


# --- build context ----------------------------------------------------------------------------


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(relative: str) -> bool:
    """Approximates Docker's matching: last matching pattern wins, `!` re-includes."""
    verdict = False
    for pattern in dockerignore():
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!")
        parts = relative.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        candidates = [pattern, pattern.removeprefix("**/")]
        if any(fnmatch.fnmatch(p, c) for p in prefixes for c in candidates) or any(
            pattern.startswith("**/") and fnmatch.fnmatch(part, pattern[3:]) for part in parts
        ):
            verdict = not negate
    return verdict


def test_dockerignore_keeps_local_state_out_of_the_build() -> None:
    for path in (
        ".venv/bin/python",
        ".ring/pg/data",
        "libs/runtime/src/x/__pycache__/a.pyc",
        ".pytest_cache/v",
        ".mypy_cache/3.11",
        ".ruff_cache/x",
        ".git/HEAD",
        "services/task-service/tests/unit/test_x.py",
        ".env",
        "tests/deploy/x.py",
    ):
        assert ignored(path), path


def test_dockerignore_keeps_what_the_dockerfile_copies() -> None:
    sources = [
        "pyproject.toml",
        "uv.lock",
        "deploy/docker/entrypoint.sh",
        "deploy/docker/healthcheck.py",
    ]
    for member in [*ROOT.glob("libs/*/pyproject.toml"), *ROOT.glob("services/*/pyproject.toml")]:
        sources.append(str(member.relative_to(ROOT)))
        sources.extend(str(p.relative_to(ROOT)) for p in (member.parent / "src").rglob("*.py"))
    kept = [s for s in sources if ignored(s)]
    assert kept == []


#: Run inside the replayed venv: its services, whether pytest is there, its editable installs.
PROBE = """
import json, importlib.metadata as m
def editable(d):
    url = json.loads(d.read_text("direct_url.json") or "{}")
    return url.get("dir_info", {}).get("editable", False)
print(json.dumps({
    "services": sorted(e.name for e in m.entry_points(group="ring.services")),
    "pytest": any(d.metadata["Name"] == "pytest" for d in m.distributions()),
    "editable": sorted(d.metadata["Name"] for d in m.distributions() if editable(d)),
}))
"""


def uv_binary() -> str | None:
    """uv next to the interpreter, where `make` bootstraps it, or on PATH."""
    for candidate in (Path(sys.executable).parent / "uv", ROOT / ".ring/bootstrap/bin/uv"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("uv")


def test_builder_stage_installs_the_locked_workspace_without_dev_or_editables(
    tmp_path: Path,
) -> None:
    """Replays the builder's `uv sync` on a copy of the build context (offline, from the cache)."""
    uv = uv_binary()
    if uv is None:
        pytest.skip("uv not found (make bootstraps it into .ring/bootstrap)")
    context = tmp_path / "src"
    context.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy2(ROOT / name, context / name)
    for folder in ("libs", "services"):
        shutil.copytree(
            ROOT / folder,
            context / folder,
            ignore=lambda d, names: [
                n for n in names if ignored(str((Path(d) / n).relative_to(ROOT)))
            ],
        )
    venv = tmp_path / "venv"
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON": sys.executable}
    env.pop("VIRTUAL_ENV", None)
    sync = [
        uv,
        "sync",
        "--locked",
        "--all-packages",
        "--no-dev",
        "--no-editable",
        "--offline",
        "--quiet",
    ]
    result = run(sync, cwd=context, env=env)
    assert result.returncode == 0, result.stderr
    result = run([venv / "bin" / "python", "-c", PROBE], env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert set(found["services"]) == registered_service_names()
    assert found["pytest"] is False, "dev dependencies must not reach the image"
    assert found["editable"] == []
    assert (venv / "bin" / "ring").exists()
