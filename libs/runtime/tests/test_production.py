"""Production mode: every unsafe setting is named, and a safe configuration starts."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ring_runtime.commands.keys import fresh_secrets, keys
from ring_runtime.production import PUBLISHED_CIPHER_KEY, _derived
from ring_runtime.settings import SettingsError, load_settings


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def production_env(**overrides: str) -> dict[str, str]:
    """A complete, safe production environment (every service's secrets)."""
    fresh = fresh_secrets()
    env = {
        "RING_ENV": "production",
        "RING_DATABASE_URL": f"postgresql://ring_task:{fresh['POSTGRES_TASK_PASSWORD']}@db:5432/ring",
        "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
        "RING_PAYMENTS_PROVIDER": "webhook",
        "RING_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "RING_KAFKA_SASL_USERNAME": "ring-task",
        "RING_KAFKA_SASL_PASSWORD": fresh["SCRAM_TASK_PASSWORD"],
        **{name: value for name, value in fresh.items() if name.startswith(("RING_", "CIPHER"))},
    }
    env.update(overrides)
    return env


def refusal(service: str, env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as refused:
        load_settings(service, env)
    return str(refused.value)


def test_development_is_the_zero_config_default() -> None:
    settings = load_settings("task", {})
    assert settings.environment == "development"
    assert not settings.production


def test_a_safe_production_environment_starts_every_process() -> None:
    env = production_env()
    gateway_env = {k: v for k, v in env.items() if k != "RING_GATEWAY_VERIFY_KEY"}
    assert load_settings("gateway", gateway_env).production
    service_env = {k: v for k, v in env.items() if k != "RING_GATEWAY_SIGNING_KEY"}
    for service in ("task", "ledger", "matching", "voucher", "dispute"):
        assert load_settings(service, service_env).production


def test_the_published_cipher_key_is_refused() -> None:
    message = refusal("task", production_env(CIPHER_KEY=PUBLISHED_CIPHER_KEY))
    assert "CIPHER_KEY is a published development value" in message
    assert "ring keys" in message


def test_missing_short_and_non_base64_keys_are_refused() -> None:
    env = production_env(CIPHER_KEY="", RING_GATEWAY_SIGNING_KEY="")
    env.pop("RING_GATEWAY_VERIFY_KEY")
    message = refusal("task", env)
    assert "CIPHER_KEY is not set" in message
    assert "RING_GATEWAY_VERIFY_KEY is not set" in message
    short = base64.b64encode(b"x" * 16).decode()
    assert "too short" in refusal("task", production_env(CIPHER_KEY=short))
    assert "not base64" in refusal("task", production_env(CIPHER_KEY="not base64!"))


def test_the_simulated_payment_provider_is_refused() -> None:
    env = production_env()
    env.pop("RING_PAYMENTS_PROVIDER")  # its default is `simulated`
    assert "RING_PAYMENTS_PROVIDER is `simulated`" in refusal("ledger", env)


def test_the_webhook_needs_its_secret_on_the_ledger() -> None:
    message = refusal("ledger", production_env(RING_PAYMENTS_WEBHOOK_SECRET="short"))
    assert "RING_PAYMENTS_WEBHOOK_SECRET is too short" in message


def test_the_published_database_password_is_refused() -> None:
    url = "postgresql://ring:ring-dev-password@postgres:5432/ring"
    assert "published development password" in refusal(
        "task", production_env(RING_DATABASE_URL=url)
    )
    no_password = "postgresql://ring@postgres:5432/ring"
    assert "has no password" in refusal("task", production_env(RING_DATABASE_URL=no_password))


def test_the_gateway_refuses_keys_derived_from_the_cipher_key() -> None:
    env = production_env()
    env["RING_JWT_SECRET"] = _derived(env["CIPHER_KEY"], b"ring-gateway jwt v1")
    assert "RING_JWT_SECRET is CIPHER_KEY or derived from it" in refusal("gateway", env)
    published_derived = _derived(PUBLISHED_CIPHER_KEY, b"ring-gateway jwt v1")
    assert "published" in refusal("gateway", production_env(RING_JWT_SECRET=published_derived))


def test_the_gateway_needs_its_own_secrets() -> None:
    env = production_env(RING_JWT_SECRET="too-short", RING_PII_KEY="")
    message = refusal("gateway", env)
    assert "RING_JWT_SECRET is too short" in message
    assert "RING_PII_KEY is not set" in message


def test_only_the_gateway_may_hold_the_signing_key() -> None:
    assert "only the gateway may hold it" in refusal("task", production_env())


def test_allow_everything_proxies_are_refused() -> None:
    env = production_env(RING_TRUSTED_PROXIES="10.0.0.0/8,*")
    env.pop("RING_GATEWAY_SIGNING_KEY")
    assert "RING_TRUSTED_PROXIES is `*`" in refusal("task", env)


def test_services_must_log_in_to_kafka() -> None:
    env = production_env(RING_KAFKA_SECURITY_PROTOCOL="PLAINTEXT")
    env.pop("RING_GATEWAY_SIGNING_KEY")
    assert "Kafka needs SASL" in refusal("task", env)
    env = production_env(RING_KAFKA_SASL_PASSWORD="kafka")
    env.pop("RING_GATEWAY_SIGNING_KEY")
    assert "RING_KAFKA_SASL_PASSWORD is too short" in refusal("task", env)


def test_an_unknown_environment_name_is_refused() -> None:
    assert "RING_ENV must be one of" in refusal("task", {"RING_ENV": "prod"})


def test_ring_keys_prints_fresh_secrets_each_time() -> None:
    first = CliRunner().invoke(keys, [])
    second = CliRunner().invoke(keys, [])
    assert first.exit_code == second.exit_code == 0
    lines = dict(line.split("=", 1) for line in first.output.splitlines())
    again = dict(line.split("=", 1) for line in second.output.splitlines())
    assert {
        "CIPHER_KEY",
        "RING_JWT_SECRET",
        "RING_PII_KEY",
        "RING_GATEWAY_SIGNING_KEY",
        "RING_AUDIT_SIGNING_KEY",
        "RING_AUDIT_VERIFY_KEY",
    } <= set(lines)
    assert all(lines[name] != again[name] for name in lines)
    assert len(base64.b64decode(lines["CIPHER_KEY"])) == 32


def test_ring_serve_exits_non_zero_with_the_reasons(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "RING_ENV": "production",
        "CIPHER_KEY": PUBLISHED_CIPHER_KEY,
        "RING_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "ring_runtime.commands.serve", "task"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "RING_ENV=production refuses to start" in result.stderr
    assert "CIPHER_KEY is a published development value" in result.stderr


def test_the_web_app_needs_its_session_key_and_no_platform_credentials() -> None:
    """A client of the gateway only: no database, Kafka, event-store or assertion keys."""
    key = _key()
    settings = load_settings("web", {"RING_ENV": "production", "RING_WEB_SESSION_KEY": key})
    assert settings.production
    assert "RING_WEB_SESSION_KEY is not set" in refusal("web", {"RING_ENV": "production"})
    assert "RING_GATEWAY_SIGNING_KEY" in refusal(
        "web",
        {
            "RING_ENV": "production",
            "RING_WEB_SESSION_KEY": key,
            "RING_GATEWAY_SIGNING_KEY": production_env()["RING_GATEWAY_SIGNING_KEY"],
        },
    )


def test_every_process_with_an_event_store_needs_the_audit_signing_key() -> None:
    """Checkpoints signed with a per-data-directory development key would prove nothing."""
    env = production_env()
    env.pop("RING_AUDIT_SIGNING_KEY")
    service_env = {k: v for k, v in env.items() if k != "RING_GATEWAY_SIGNING_KEY"}
    for service in ("task", "ledger", "matching", "voucher", "dispute"):
        assert "RING_AUDIT_SIGNING_KEY is not set" in refusal(service, service_env), service
    gateway_env = {k: v for k, v in env.items() if k != "RING_GATEWAY_VERIFY_KEY"}
    assert "RING_AUDIT_SIGNING_KEY is not set" in refusal("gateway", gateway_env)
    assert load_settings("notification", service_env).production  # no event store to sign
    short = production_env(RING_AUDIT_SIGNING_KEY=base64.b64encode(b"k" * 16).decode())
    assert "RING_AUDIT_SIGNING_KEY is too short" in refusal("task", short)
    reused = production_env()
    reused["RING_AUDIT_SIGNING_KEY"] = reused["RING_GATEWAY_SIGNING_KEY"]
    reused.pop("RING_GATEWAY_VERIFY_KEY")
    assert "RING_AUDIT_SIGNING_KEY is RING_GATEWAY_SIGNING_KEY" in refusal("gateway", reused)
