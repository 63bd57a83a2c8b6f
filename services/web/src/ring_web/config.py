"""Web app configuration: where the gateway is, the session key, and the limits shown in forms."""

from __future__ import annotations

import base64
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ring_runtime.settings import ENVIRONMENT, SettingsError

_DEFAULTS = {v.name: v.default for v in ENVIRONMENT}
#: The development session key, generated once (mode 0600) when RING_WEB_SESSION_KEY is empty.
DEV_KEY_FILE = "web-dev-session-key"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebConfig:
    """What the web process needs beyond the common settings.

    ``fee_bps`` and the voucher limits are the platform's own settings, read here only to show
    an estimate and to check files before upload; the gateway stays the authority.
    """

    gateway_url: str
    session_key: bytes
    secure_cookies: bool
    fee_bps: int
    max_file_bytes: int
    max_files: int


def _session_key(raw: str, cipher_key: str, data_dir: str) -> bytes:
    """RING_WEB_SESSION_KEY; else derived from CIPHER_KEY (what every replica of a deployment
    already mounts, as the gateway does for its keys); else a development key on disk."""
    if cipher_key and not raw:
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"ring-web session v1"
        ).derive(cipher_key.encode())
    if raw:
        try:
            key = base64.b64decode(raw, validate=True)
        except ValueError:
            raise SettingsError("RING_WEB_SESSION_KEY must be base64") from None
        if len(key) != 32:
            raise SettingsError(f"RING_WEB_SESSION_KEY must decode to 32 bytes, got {len(key)}")
        return key
    path = Path(data_dir) / DEV_KEY_FILE
    if not path.exists():
        log.warning("RING_WEB_SESSION_KEY is empty: using a development key kept in %s", path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
        path.chmod(0o600)
    return base64.b64decode(path.read_text().strip())


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {value!r}") from None


def web_config(environ: Mapping[str, str] | None = None) -> WebConfig:
    """Read the web app's configuration from ``environ`` (default: the process environment).

    Raises:
        SettingsError: a variable holds a value that cannot be used.
    """
    source = os.environ if environ is None else environ

    def get(name: str) -> str:
        return source.get(name, _DEFAULTS[name])

    return WebConfig(
        gateway_url=get("RING_GATEWAY_URL").rstrip("/"),
        session_key=_session_key(
            get("RING_WEB_SESSION_KEY"), get("CIPHER_KEY"), get("RING_DATA_DIR")
        ),
        secure_cookies=get("RING_WEB_SECURE_COOKIES").strip().lower()
        not in ("0", "false", "no", "off"),
        fee_bps=_int("RING_PLATFORM_FEE_BPS", get("RING_PLATFORM_FEE_BPS")),
        max_file_bytes=_int("RING_VOUCHER_MAX_FILE_BYTES", get("RING_VOUCHER_MAX_FILE_BYTES")),
        max_files=_int("RING_VOUCHER_MAX_FILES", get("RING_VOUCHER_MAX_FILES")),
    )
