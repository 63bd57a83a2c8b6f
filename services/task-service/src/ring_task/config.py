"""Task-service configuration, from the environment.

Every variable is declared with its default in ``ring_runtime.settings.ENVIRONMENT``. The
platform fee (``RING_PLATFORM_FEE_BPS``) is read by the ``Tasks`` application itself, from the
environment it is constructed with, because it is fixed on each task when it is drafted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ring_runtime.settings import whole_number


@dataclass(frozen=True)
class TaskConfig:
    """How often the task service's deadline timers are checked."""

    timer_poll_interval: float = 1.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> TaskConfig:
        """Read ``RING_TIMER_POLL_INTERVAL_MS`` (default: the process environment).

        Raises:
            SettingsError: the variable is not a positive integer.
        """
        source = os.environ if environ is None else environ
        return cls(timer_poll_interval=whole_number(source, "RING_TIMER_POLL_INTERVAL_MS") / 1000)
