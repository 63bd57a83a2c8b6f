"""Dispute-service configuration (SLA windows, timer polling, evidence files), from the env."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from ring_runtime.settings import whole_number


@dataclass(frozen=True)
class DisputeConfig:
    """How long each side of the SLA lasts, and how often timers are checked."""

    response_window: timedelta = timedelta(days=5)
    arbitration_window: timedelta = timedelta(days=3)
    timer_poll_interval: float = 1.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> DisputeConfig:
        """Read ``RING_DISPUTE_RESPONSE_DAYS``, ``RING_DISPUTE_ARBITRATION_DAYS`` and
        ``RING_TIMER_POLL_INTERVAL_MS`` (default: the process environment).

        Raises:
            SettingsError: a variable is not a positive integer.
        """
        source = os.environ if environ is None else environ

        def positive(name: str) -> int:
            return whole_number(source, name)

        return cls(
            response_window=timedelta(days=positive("RING_DISPUTE_RESPONSE_DAYS")),
            arbitration_window=timedelta(days=positive("RING_DISPUTE_ARBITRATION_DAYS")),
            timer_poll_interval=positive("RING_TIMER_POLL_INTERVAL_MS") / 1000,
        )
