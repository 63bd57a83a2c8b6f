"""The README's table of environment variables is the one the code reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from ring_runtime.commands.settings import settings_table
from ring_runtime.settings import ENVIRONMENT, SettingsError, load_settings

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_lists_every_setting_with_its_default() -> None:
    text = README.read_text()
    start = text.index("<!-- settings:start -->") + len("<!-- settings:start -->")
    end = text.index("<!-- settings:end -->")
    assert text[start:end].strip() == settings_table(), "run `ring settings` and paste it"


def test_defaults_load_and_bad_values_are_named() -> None:
    settings = load_settings("task", environ={})
    assert settings.http_port == 8101
    assert settings.db_schema == "task"
    names = {v.name for v in ENVIRONMENT}
    assert {"RING_DATABASE_URL", "RING_KAFKA_BOOTSTRAP", "CIPHER_TOPIC", "CIPHER_KEY"} <= names
    with pytest.raises(SettingsError, match="RING_TOPIC_PARTITIONS"):
        load_settings("task", environ={"RING_TOPIC_PARTITIONS": "many"})


def test_several_bootstrap_servers_become_a_list() -> None:
    settings = load_settings("task", environ={"RING_KAFKA_BOOTSTRAP": "kafka-1:9092, kafka-2:9092"})
    assert settings.kafka_servers == ["kafka-1:9092", "kafka-2:9092"]


def test_supported_currencies_are_iso_4217_codes_with_minor_units() -> None:
    assert "CNY" in load_settings("ledger", environ={}).currencies
    chosen = load_settings("ledger", environ={"RING_CURRENCIES": "CNY, JPY"})
    assert chosen.currencies == frozenset({"CNY", "JPY"})
    for refused in ("XXX", "XAU", "ABC", ""):
        with pytest.raises(SettingsError, match="RING_CURRENCIES"):
            load_settings(
                "ledger", environ={"RING_CURRENCIES": f"CNY,{refused}" if refused else ""}
            )
