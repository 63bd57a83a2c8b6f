"""Verifying webhook deliveries: ``Ring-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``.

Each ``v1`` is the hex HMAC-SHA256 of ``"<t>.<raw body>"`` keyed with an endpoint secret. While
a rotated secret overlaps its successor a delivery carries one ``v1`` per valid secret, and a
receiver that knows either secret accepts it. The timestamp bounds replays: a delivery older (or
newer) than the tolerance is refused even with a valid signature. Verify the raw bytes as
received, before parsing them: re-encoded JSON does not verify.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable

from ring_client.errors import InvalidSignature

#: Header carrying the signature of a webhook delivery.
SIGNATURE_HEADER = "Ring-Signature"
#: Default accepted distance, in seconds, between the signature's timestamp and now.
DEFAULT_TOLERANCE = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<body>"`` keyed with ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(body: bytes, secrets: str | Iterable[str], *, timestamp: int | None = None) -> str:
    """A ``Ring-Signature`` value for ``body``: what the platform sends (for receivers' tests)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    return ",".join([f"t={stamp}", *(f"v1={signature(key, stamp, body)}" for key in keys)])


def verify_signature(
    body: bytes,
    header: str | None,
    secrets: str | Iterable[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check that ``header`` (the ``Ring-Signature`` value) signs ``body`` with one of
    ``secrets`` within ``tolerance`` seconds of ``now``; return the signed timestamp.

    Raises:
        InvalidSignature: ``reason`` is ``malformed`` (no header, no single integer ``t``, no
            ``v1``), ``expired`` (timestamp outside the tolerance) or ``mismatch``.
    """
    if not header:
        raise InvalidSignature("malformed", f"no {SIGNATURE_HEADER} header")
    fields = [part.strip().partition("=") for part in header.split(",")]
    stamps = [value for key, _, value in fields if key == "t"]
    candidates = [value for key, _, value in fields if key == "v1" and value]
    if len(stamps) != 1 or not stamps[0].isdigit() or not candidates:
        raise InvalidSignature("malformed", f"{SIGNATURE_HEADER} needs one t= and a v1=")
    timestamp = int(stamps[0])
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidSignature(
            "expired", f"signed at {timestamp}, {current - timestamp:.0f}s from now"
        )
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    expected = [signature(key, timestamp, body) for key in keys]
    # Compare every pair in constant time (no early exit that would time the secrets).
    matched = False
    for candidate in candidates:
        for digest in expected:
            matched |= hmac.compare_digest(digest, candidate)
    if not matched:
        raise InvalidSignature("mismatch", "no v1 signature matches the body and secrets")
    return timestamp
