"""The ledger service's own settings, read from environment variables with documented defaults.

``RING_PAYMENTS_PROVIDER`` (``simulated``) picks the payment provider; ``webhook`` leaves
deposits pending until ``POST /payments/webhook`` confirms them, signed with
``RING_PAYMENTS_WEBHOOK_SECRET`` (empty: webhooks are refused). The clearance period of payouts,
``RING_WITHDRAWAL_CLEARANCE_HOURS`` (24), is read by the application itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ring_ledger.payments import PROVIDERS, PaymentProvider
from ring_runtime.settings import SettingsError


@dataclass(frozen=True)
class PaymentsConfig:
    """How deposits are collected."""

    provider: PaymentProvider
    webhook_secret: str


def payments_config(environ: Mapping[str, str] | None = None) -> PaymentsConfig:
    """Read the payment settings from ``environ`` (default: the process environment)."""
    source = os.environ if environ is None else environ
    name = source.get("RING_PAYMENTS_PROVIDER", "simulated")
    if name not in PROVIDERS:
        raise SettingsError(
            f"RING_PAYMENTS_PROVIDER must be one of {sorted(PROVIDERS)}, got {name!r}"
        )
    return PaymentsConfig(
        provider=PROVIDERS[name](), webhook_secret=source.get("RING_PAYMENTS_WEBHOOK_SECRET", "")
    )
