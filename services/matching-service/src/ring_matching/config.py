"""Matching-service configuration, from the environment.

Every variable is declared with its default in ``ring_runtime.settings.ENVIRONMENT``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ring_runtime.settings import whole_number


@dataclass(frozen=True)
class MatchingConfig:
    """How much of the board one recommendation request scores."""

    max_scan: int = 500

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> MatchingConfig:
        """Read ``RING_MATCHING_MAX_SCAN`` (default: the process environment).

        Raises:
            SettingsError: the variable is not a positive integer.
        """
        source = os.environ if environ is None else environ
        return cls(max_scan=whole_number(source, "RING_MATCHING_MAX_SCAN"))
