"""Personal data at rest: AES-256-GCM encryption and keyed (HMAC) lookups.

Emails and display names are stored in the user's events only as ciphertext; the email is found
again by its HMAC, so the event store never holds a plain address. Two sub-keys are derived from
``RING_PII_KEY`` with HKDF, one per purpose.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(key)


def normalize_email(email: str) -> str:
    """The canonical form of an address: trimmed and lower-cased."""
    return email.strip().lower()


class PersonalDataCipher:
    """Encrypts personal fields and computes their lookup digests."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(_derive(key, b"ring-gateway pii encryption v1"))
        self._mac_key = _derive(key, b"ring-gateway pii lookup v1")

    def encrypt(self, plain: str, context: str) -> str:
        """Ciphertext of ``plain`` bound to ``context`` (e.g. the field name): base64 text."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plain.encode(), context.encode())
        return base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, context: str) -> str:
        """The plain text of :meth:`encrypt`'s output."""
        raw = base64.b64decode(token)
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()

    def email_digest(self, email: str) -> str:
        """Keyed digest of the normalized address, used to find a user by email."""
        mac = hmac.new(self._mac_key, normalize_email(email).encode(), hashlib.sha256)
        return mac.hexdigest()

    def device_digest(self, client_address: str, user_agent: str) -> str:
        """Keyed digest of a device (client address and browser): comparable, not reversible."""
        device = f"device\n{client_address}\n{user_agent}".encode()
        return hmac.new(self._mac_key, device, hashlib.sha256).hexdigest()
