"""Gateway settings (key precedence, bad values) and ``ring admin create`` input checks."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from ring_gateway.cli import admin
from ring_gateway.config import DEV_KEYS_FILE, gateway_config
from ring_runtime.settings import SettingsError

PII = base64.b64encode(b"q" * 32).decode()


def test_defaults(tmp_path: Path) -> None:
    config = gateway_config({"RING_DATA_DIR": str(tmp_path)})
    assert config.access_token_minutes == 15
    assert config.idempotency_ttl_hours == 24
    assert config.upstreams["task"] == "http://127.0.0.1:8101"
    keys = tmp_path / DEV_KEYS_FILE
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    again = gateway_config({"RING_DATA_DIR": str(tmp_path)})
    assert again.jwt_secret == config.jwt_secret  # stable across restarts
    assert again.pii_key == config.pii_key


def test_keys_derive_from_the_cipher_key_unless_set(tmp_path: Path) -> None:
    one = gateway_config({"CIPHER_KEY": "c2VjcmV0", "RING_DATA_DIR": str(tmp_path)})
    two = gateway_config({"CIPHER_KEY": "c2VjcmV0", "RING_DATA_DIR": str(tmp_path)})
    assert one.jwt_secret == two.jwt_secret
    assert one.pii_key == two.pii_key
    assert not (tmp_path / DEV_KEYS_FILE).exists()
    explicit = gateway_config({"CIPHER_KEY": "c2VjcmV0", "RING_PII_KEY": PII})
    assert explicit.pii_key == b"q" * 32


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RING_PII_KEY", "not base64!"),
        ("RING_PII_KEY", base64.b64encode(b"short").decode()),
        ("RING_JWT_SECRET", "too-short"),
        ("RING_ACCESS_TOKEN_MINUTES", "soon"),
        ("RING_IDEMPOTENCY_TTL_HOURS", "0"),
    ],
)
def test_bad_values_are_named(name: str, value: str) -> None:
    environ = {"RING_JWT_SECRET": "x" * 40, "RING_PII_KEY": PII, name: value}
    with pytest.raises(SettingsError, match=name):
        gateway_config(environ)


def test_admin_create_refuses_short_passwords_and_bad_emails() -> None:
    runner = CliRunner()
    short = runner.invoke(admin, ["create", "root@example.com", "--password-stdin"], input="x\n")
    assert short.exit_code == 1
    assert "at least 12 characters" in short.output
    bad = runner.invoke(
        admin, ["create", "not-an-email", "--password-stdin"], input="long enough pass\n"
    )
    assert bad.exit_code == 1
    assert "is not an email address" in bad.output
