"""Service-to-service identity: the gateway signs who is acting, every service verifies it.

The gateway authenticates a user, then sends each internal call an *actor assertion* in
``X-Ring-Assertion``: a JWT signed with Ed25519 (``EdDSA``) by a key only the gateway holds
(``RING_GATEWAY_SIGNING_KEY``), carrying the user id (``sub``), the role (``role``), ``iss``
``ring-gateway``, ``aud`` ``ring-services`` and a lifetime of :data:`ASSERTION_SECONDS`.
Services hold only the public key (``RING_GATEWAY_VERIFY_KEY``): a compromised service, or
anyone else who reaches a service's port, can read assertions but never forge one. A bare
``X-Ring-Actor`` header is ignored (decision 0012 replaces decision 0004's trust in it).

In development both keys come from one key pair generated under ``RING_DATA_DIR``
(``gateway-identity-dev.json``, mode 0600), shared by every process ``make run`` starts.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

#: Request header carrying the gateway's signed actor assertion.
ASSERTION_HEADER = "X-Ring-Assertion"
#: Lifetime of one assertion; long enough for clock skew and a slow upstream, short enough
#: that a leaked one is worthless soon.
ASSERTION_SECONDS = 60
ISSUER, AUDIENCE = "ring-gateway", "ring-services"
#: The roles a user can have (the gateway's ``Role``): checked by services on their own routes.
PARTY_A, PARTY_B, ADMIN = "party_a", "party_b", "admin"
ROLES = frozenset({PARTY_A, PARTY_B, ADMIN})
DEV_IDENTITY_FILE = "gateway-identity-dev.json"
_ALGORITHMS = ["EdDSA"]


@dataclass(frozen=True)
class Actor:
    """The user on whose behalf the gateway calls a service, as the gateway vouches."""

    user_id: UUID
    role: str


class InvalidAssertion(Exception):
    """No actor assertion, or one the gateway did not sign (forged, expired, malformed)."""

    code = "actor_required"


def _raw_public(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def new_identity_keys() -> tuple[str, str]:
    """A fresh key pair as ``(RING_GATEWAY_SIGNING_KEY, RING_GATEWAY_VERIFY_KEY)`` (base64)."""
    seed = secrets.token_bytes(32)
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return base64.b64encode(seed).decode(), _raw_public(public)


def development_identity_keys(data_dir: str, file_name: str = DEV_IDENTITY_FILE) -> tuple[str, str]:
    """The development key pair under ``data_dir``, created by the first process that asks
    (``file_name``: another pair, e.g. the audit checkpoint key).

    Written to a temporary file and linked into place, so processes starting together all end
    up with the same pair.
    """
    path = Path(data_dir) / file_name
    if not path.exists():
        signing, verify = new_identity_keys()
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"signing_key": signing, "verify_key": verify}, handle)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process won the race; use its pair
        finally:
            draft.unlink()
    keys = json.loads(path.read_text())
    return str(keys["signing_key"]), str(keys["verify_key"])


def _decode(name: str, value: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raise ValueError(f"{name} must be base64 (`ring keys` makes one)") from None
    if len(raw) != 32:
        raise ValueError(f"{name} must decode to 32 bytes, got {len(raw)}")
    return raw


class AssertionSigner:
    """Signs actor assertions (the gateway only). Reuses a token for half its lifetime."""

    def __init__(self, signing_key: str, lifetime: int = ASSERTION_SECONDS) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(
            _decode("RING_GATEWAY_SIGNING_KEY", signing_key)
        )
        self.lifetime = lifetime
        self._issued: dict[tuple[UUID, str], tuple[float, str]] = {}

    @property
    def verify_key(self) -> str:
        """The matching ``RING_GATEWAY_VERIFY_KEY``."""
        return _raw_public(self._key.public_key())

    def sign(self, user_id: UUID, role: str) -> str:
        """An assertion that ``user_id`` acts with ``role``, valid for :attr:`lifetime` s."""
        now = time.time()
        cached = self._issued.get((user_id, role))
        if cached is not None and now < cached[0]:
            return cached[1]
        issued_at = int(now)
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(user_id),
            "role": role,
            "iat": issued_at,
            "exp": issued_at + self.lifetime,
        }
        token = jwt.encode(claims, self._key, algorithm="EdDSA")
        if len(self._issued) > 10_000:
            self._issued.clear()
        self._issued[(user_id, role)] = (now + self.lifetime / 2, token)
        return token


class AssertionVerifier:
    """Verifies actor assertions with the gateway's public key (every service)."""

    def __init__(self, verify_key: str) -> None:
        self._key = Ed25519PublicKey.from_public_bytes(
            _decode("RING_GATEWAY_VERIFY_KEY", verify_key)
        )

    def verify(self, token: str | None) -> Actor:
        """The actor ``token`` vouches for.

        Raises:
            InvalidAssertion: missing, not signed by the gateway's key, expired, or malformed.
        """
        if not token:
            raise InvalidAssertion(f"header {ASSERTION_HEADER} (set by the gateway) is required")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=_ALGORITHMS,
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "role"]},
                leeway=5,
            )
            actor = Actor(UUID(str(claims["sub"])), str(claims["role"]))
        except (jwt.InvalidTokenError, ValueError) as error:
            raise InvalidAssertion(f"the actor assertion is not valid: {error}") from None
        if actor.role not in ROLES:
            raise InvalidAssertion(f"the actor assertion names an unknown role {actor.role!r}")
        return actor


def service_verifier(verify_key: str, data_dir: str) -> AssertionVerifier:
    """The verifier of a service: ``RING_GATEWAY_VERIFY_KEY``, else the development pair.

    Production never gets here without the key (:mod:`ring_runtime.production` refuses).
    """
    return AssertionVerifier(verify_key or development_identity_keys(data_dir)[1])


def gateway_signer(signing_key: str, data_dir: str) -> AssertionSigner:
    """The gateway's signer: ``RING_GATEWAY_SIGNING_KEY``, else the development pair."""
    return AssertionSigner(signing_key or development_identity_keys(data_dir)[0])
