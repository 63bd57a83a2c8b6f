"""Gateway configuration: token keys and lifetimes, upstream URLs, limits.

Read from the environment like every Ring setting (the variables are listed in
:data:`ring_runtime.settings.ENVIRONMENT`). Keys, in order of precedence:

1. ``RING_JWT_SECRET`` / ``RING_PII_KEY`` when set;
2. otherwise, in development only, derived (HKDF-SHA256, one label per purpose) from
   ``CIPHER_KEY``; production mode refuses that (``ring_runtime.production``, decision 0012);
3. otherwise (development only) a key generated once and kept in
   ``RING_DATA_DIR/gateway-dev-keys.json`` (mode 0600), with a loud warning, so ``make run``
   works out of the box and restarts keep tokens and encrypted data readable.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ring_runtime.settings import ENVIRONMENT, SettingsError

log = logging.getLogger("ring.gateway")

_DEFAULTS = {v.name: v.default for v in ENVIRONMENT}
DEV_KEYS_FILE = "gateway-dev-keys.json"


class GatewayConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the gateway needs besides the common :class:`Settings`."""

    jwt_secret: bytes
    jwt_issuer: str
    jwt_audience: str
    access_token_minutes: int
    refresh_token_days: int
    upstreams: dict[str, str]
    idempotency_ttl_hours: int
    auth_rate_limit_per_minute: int
    refresh_rate_limit_per_minute: int
    pii_key: bytes
    signing_key: str = ""


def _int(name: str, value: str, minimum: int = 1) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {number}")
    return number


def _dev_keys(data_dir: str) -> dict[str, str]:
    path = Path(data_dir) / DEV_KEYS_FILE
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded
    keys = {
        "jwt_secret": base64.b64encode(secrets.token_bytes(32)).decode(),
        "pii_key": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(keys, handle)
    return keys


def _derived(cipher_key: str, purpose: bytes) -> str:
    """A base64 key for ``purpose`` derived from the event-store key."""
    material = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        cipher_key.encode()
    )
    return base64.b64encode(material).decode()


def _pii_key(raw: str) -> bytes:
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        raise SettingsError("RING_PII_KEY must be base64 (`ring keys cipher` makes one)") from None
    if len(key) != 32:
        raise SettingsError(f"RING_PII_KEY must decode to 32 bytes, got {len(key)}")
    return key


def gateway_config(environ: Mapping[str, str] | None = None) -> GatewayConfig:
    """Read the gateway's configuration from ``environ`` (default: the process environment).

    Raises:
        SettingsError: a variable holds a value that cannot be used; the message names it.
    """
    source = os.environ if environ is None else environ

    def get(name: str) -> str:
        return source.get(name, _DEFAULTS[name])

    jwt_secret, pii_key = get("RING_JWT_SECRET"), get("RING_PII_KEY")
    cipher_key = get("CIPHER_KEY")
    if cipher_key and not jwt_secret:
        jwt_secret = _derived(cipher_key, b"ring-gateway jwt v1")
    if cipher_key and not pii_key:
        pii_key = _derived(cipher_key, b"ring-gateway pii v1")
    if not jwt_secret or not pii_key:
        dev = _dev_keys(get("RING_DATA_DIR"))
        if not jwt_secret:
            log.warning("RING_JWT_SECRET is not set: using a DEVELOPMENT key; set it in production")
            jwt_secret = dev["jwt_secret"]
        if not pii_key:
            log.warning("RING_PII_KEY is not set: using a DEVELOPMENT key; set it in production")
            pii_key = dev["pii_key"]
    if len(jwt_secret) < 32:
        raise SettingsError("RING_JWT_SECRET must be at least 32 characters")
    return GatewayConfig(
        jwt_secret=jwt_secret.encode(),
        jwt_issuer=get("RING_JWT_ISSUER"),
        jwt_audience=get("RING_JWT_AUDIENCE"),
        access_token_minutes=_int("RING_ACCESS_TOKEN_MINUTES", get("RING_ACCESS_TOKEN_MINUTES")),
        refresh_token_days=_int("RING_REFRESH_TOKEN_DAYS", get("RING_REFRESH_TOKEN_DAYS")),
        upstreams={
            "task": get("RING_TASK_URL").rstrip("/"),
            "matching": get("RING_MATCHING_URL").rstrip("/"),
            "voucher": get("RING_VOUCHER_URL").rstrip("/"),
            "ledger": get("RING_LEDGER_URL").rstrip("/"),
            "dispute": get("RING_DISPUTE_URL").rstrip("/"),
            "notification": get("RING_NOTIFICATION_URL").rstrip("/"),
        },
        idempotency_ttl_hours=_int("RING_IDEMPOTENCY_TTL_HOURS", get("RING_IDEMPOTENCY_TTL_HOURS")),
        auth_rate_limit_per_minute=_int(
            "RING_AUTH_RATE_LIMIT_PER_MINUTE", get("RING_AUTH_RATE_LIMIT_PER_MINUTE")
        ),
        refresh_rate_limit_per_minute=_int(
            "RING_REFRESH_RATE_LIMIT_PER_MINUTE", get("RING_REFRESH_RATE_LIMIT_PER_MINUTE")
        ),
        pii_key=_pii_key(pii_key),
        signing_key=get("RING_GATEWAY_SIGNING_KEY"),
    )
