"""The webhook signature verifier, against the documented format:
``Ring-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the secret>``."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from ring_client import InvalidSignature, sign, verify_signature

BODY = b'{"id":"n-1","type":"order.settled","version":1,"data":{}}'
NOW = 1_800_000_000


def by_hand(secret: str, timestamp: int, body: bytes) -> str:
    """The signature as a receiver in any language computes it from the documentation."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def test_a_signature_made_from_the_documentation_verifies() -> None:
    header = f"t={NOW},v1={by_hand('whsec_1', NOW, BODY)}"
    assert verify_signature(BODY, header, "whsec_1", now=NOW) == NOW


def test_sign_writes_the_documented_header() -> None:
    assert sign(BODY, "whsec_1", timestamp=NOW) == f"t={NOW},v1={by_hand('whsec_1', NOW, BODY)}"


@pytest.mark.parametrize(
    "body",
    [BODY + b" ", BODY.replace(b"settled", b"approved"), b""],
    ids=["space", "edit", "empty"],
)
def test_any_change_to_the_body_fails(body: bytes) -> None:
    with pytest.raises(InvalidSignature) as raised:
        verify_signature(body, sign(BODY, "whsec_1", timestamp=NOW), "whsec_1", now=NOW)
    assert raised.value.reason == "mismatch"


def test_another_secret_fails() -> None:
    with pytest.raises(InvalidSignature) as raised:
        verify_signature(BODY, sign(BODY, "whsec_1", timestamp=NOW), "whsec_2", now=NOW)
    assert raised.value.reason == "mismatch"


def test_during_rotation_either_secret_verifies_a_delivery_signed_with_both() -> None:
    header = sign(BODY, ["whsec_new", "whsec_old"], timestamp=NOW)
    assert header.count("v1=") == 2
    assert verify_signature(BODY, header, "whsec_old", now=NOW) == NOW
    assert verify_signature(BODY, header, "whsec_new", now=NOW) == NOW
    # A receiver that already knows both secrets accepts a delivery signed with either.
    only_new = sign(BODY, "whsec_new", timestamp=NOW)
    assert verify_signature(BODY, only_new, ["whsec_old", "whsec_new"], now=NOW) == NOW


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_timestamp_outside_the_tolerance_fails_even_when_signed(skew: int) -> None:
    header = sign(BODY, "whsec_1", timestamp=NOW + skew)
    with pytest.raises(InvalidSignature) as raised:
        verify_signature(BODY, header, "whsec_1", now=NOW)
    assert raised.value.reason == "expired"
    assert verify_signature(BODY, header, "whsec_1", now=NOW, tolerance=302) == NOW + skew


@pytest.mark.parametrize(
    "header",
    [None, "", "v1=abc", f"t={NOW}", "t=soon,v1=abc", f"t={NOW},t={NOW},v1=abc", f"t={NOW},v1="],
)
def test_malformed_headers_fail(header: str | None) -> None:
    with pytest.raises(InvalidSignature) as raised:
        verify_signature(BODY, header, "whsec_1", now=NOW)
    assert raised.value.reason == "malformed"


def test_unknown_schemes_are_ignored_next_to_v1() -> None:
    header = f"t={NOW},v0=deadbeef,v1={by_hand('whsec_1', NOW, BODY)},v2=future"
    assert verify_signature(BODY, header, "whsec_1", now=NOW) == NOW
