"""Notification-service configuration (retry schedule, disabling, SSRF mode), from the env."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from ring_notification.domain import DisablePolicy, RetryPolicy
from ring_runtime.settings import ENVIRONMENT, SettingsError, whole_number

_DEFAULTS = {v.name: v.default for v in ENVIRONMENT}


@dataclass(frozen=True)
class NotificationConfig:
    """How webhooks are retried, timed out and disabled, and how strictly targets are checked."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    disable: DisablePolicy = field(default_factory=DisablePolicy)
    timeout: float = 10.0
    poll_interval: float = 0.5
    production: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> NotificationConfig:
        """Read the ``RING_WEBHOOK_*`` variables and ``RING_ENV`` (default: the process env).

        Raises:
            SettingsError: a variable is not a non-negative integer, or ``RING_ENV`` is unknown.
        """
        source = os.environ if environ is None else environ

        def number(name: str, minimum: int = 0) -> int:
            return whole_number(source, name, minimum)

        mode = source.get("RING_ENV", _DEFAULTS["RING_ENV"]).strip().lower()
        if mode not in ("production", "development"):
            raise SettingsError(f"RING_ENV must be production or development, got {mode!r}")
        return cls(
            retry=RetryPolicy(
                first_delay=timedelta(milliseconds=number("RING_WEBHOOK_FIRST_RETRY_MS", 1)),
                max_delay=timedelta(milliseconds=number("RING_WEBHOOK_MAX_RETRY_MS", 1)),
                max_attempts=number("RING_WEBHOOK_MAX_ATTEMPTS", 1),
            ),
            disable=DisablePolicy(
                after_failures=number("RING_WEBHOOK_DISABLE_AFTER_FAILURES", 1),
                after=timedelta(hours=number("RING_WEBHOOK_DISABLE_AFTER_HOURS")),
            ),
            timeout=number("RING_WEBHOOK_TIMEOUT_MS", 1) / 1000,
            poll_interval=number("RING_WEBHOOK_POLL_INTERVAL_MS", 1) / 1000,
            production=mode == "production",
        )
