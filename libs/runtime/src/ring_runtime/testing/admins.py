"""Administrators for tests and benchmarks, made the only way admins are made: ``ring admin
create`` (there is no sign-up for the admin role)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

#: The ``ring`` command of the interpreter running the tests.
RING = Path(sys.executable).parent / "ring"

#: Seconds the command may take: a cold interpreter loads every service's CLI and hashes the
#: password with argon2, which took over 60 s at load 24.
TIMEOUT_SECONDS = 180


def admin_create(env: Mapping[str, str], email: str, password: str) -> None:
    """Run ``ring admin create EMAIL --password-stdin`` against the platform ``env`` points at.

    Args:
        env: the platform's environment (``RING_DATABASE_URL``, ``RING_DB_SCHEMA``…).
        email: the new administrator's sign-in email.
        password: its password, given on standard input.

    Raises:
        RuntimeError: the command failed; the message holds its output.
    """
    created = subprocess.run(
        [str(RING), "admin", "create", email, "--password-stdin"],
        input=f"{password}\n",
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    if created.returncode != 0:
        raise RuntimeError(f"ring admin create failed: {created.stdout}{created.stderr}")
