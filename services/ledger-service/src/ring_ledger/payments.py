"""The payment-provider port deposits go through (the commands are in :class:`~ring_ledger.application.Ledger`).

:class:`PaymentProvider` is the port. :class:`SimulatedProvider` (the embedded default) confirms
every charge at once. :class:`WebhookProvider` stands for a real provider: the charge stays
*pending* until the provider calls ``POST /payments/webhook`` with the deposit's reference,
signed with HMAC-SHA256 over the raw body (secret ``RING_PAYMENTS_WEBHOOK_SECRET``).

``Idempotency-Key`` is honoured end to end: the deposit id derives from party and key, the
provider is charged with that id as its reference, and a repeated request returns the deposit
the first one created.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from ring_ledger.domain import LedgerError

#: Header carrying the webhook body's signature: ``sha256=<hex HMAC-SHA256>``.
SIGNATURE_HEADER = "X-Ring-Signature"


@dataclass(frozen=True, slots=True)
class Charge:
    """What the provider answered to a charge request."""

    provider: str
    reference: str
    confirmed: bool


class PaymentProvider(Protocol):
    """Port to the payment provider that takes deposits in."""

    def charge(self, deposit_id: UUID, party_id: str, amount_minor: int, currency: str) -> Charge:
        """Start collecting ``amount_minor``; ``deposit_id`` is the idempotency reference."""
        ...


class SimulatedProvider:
    """Embedded default: every charge succeeds at once."""

    def charge(self, deposit_id: UUID, party_id: str, amount_minor: int, currency: str) -> Charge:
        """Confirm immediately, referenced by the deposit id."""
        return Charge(provider="simulated", reference=str(deposit_id), confirmed=True)


class WebhookProvider:
    """A provider that confirms later by a signed webhook (what a real provider does)."""

    def charge(self, deposit_id: UUID, party_id: str, amount_minor: int, currency: str) -> Charge:
        """Leave the deposit pending until the webhook confirms it."""
        return Charge(provider="webhook", reference=str(deposit_id), confirmed=False)


PROVIDERS: dict[str, type[PaymentProvider]] = {
    "simulated": SimulatedProvider,
    "webhook": WebhookProvider,
}


def sign(secret: str, body: bytes) -> str:
    """The signature header value of ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, signature: str | None) -> None:
    """Raise :class:`InvalidSignature` unless ``signature`` signs ``body`` with ``secret``."""
    if not secret:
        raise InvalidSignature("payment webhooks are disabled: no secret is configured")
    if not signature or not hmac.compare_digest(sign(secret, body), signature):
        raise InvalidSignature(f"{SIGNATURE_HEADER} does not match the body")


def check_idempotency_key(key: str) -> str:
    """Return ``key`` if it is 1..200 printable characters, else raise."""
    if not isinstance(key, str) or not 1 <= len(key) <= 200 or not key.isprintable():
        raise InvalidIdempotencyKey("Idempotency-Key must be 1..200 printable characters")
    return key


class InvalidSignature(LedgerError):
    """A payment webhook's signature is missing or wrong."""

    code = "invalid_signature"


class InvalidIdempotencyKey(LedgerError):
    """The Idempotency-Key header is missing or malformed."""

    code = "invalid_idempotency_key"
