"""The web app's configuration: the session key and where the gateway is."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from ring_web.config import web_config

from ring_runtime.settings import SettingsError


def test_defaults_point_at_the_local_gateway_with_a_development_key(tmp_path: Path) -> None:
    config = web_config({"RING_DATA_DIR": str(tmp_path)})
    assert config.gateway_url == "http://127.0.0.1:8000"
    assert config.secure_cookies
    assert len(config.session_key) == 32
    assert web_config({"RING_DATA_DIR": str(tmp_path)}).session_key == config.session_key


def test_the_session_key_is_derived_from_the_cipher_key_when_not_set(tmp_path: Path) -> None:
    environ = {"RING_DATA_DIR": str(tmp_path), "CIPHER_KEY": "c2VjcmV0"}
    assert web_config(environ).session_key == web_config(environ).session_key
    assert not (tmp_path / "web-dev-session-key").exists()


def test_a_malformed_session_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="32 bytes"):
        web_config({"RING_WEB_SESSION_KEY": base64.b64encode(b"short").decode()})
