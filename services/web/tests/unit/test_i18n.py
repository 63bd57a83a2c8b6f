"""The two catalogues are complete, and every message a template or page asks for exists."""

from __future__ import annotations

import re
from pathlib import Path

import ring_web
from ring_web.i18n import EN, ZH, Translator, error_message

PACKAGE = Path(ring_web.__file__).parent
#: Keys asked for literally: t("key") in templates and pages, and flash/error keys in pages.
LITERAL = re.compile(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*\)""")
FLASHED = re.compile(r"""["']((?:flash|error)_[a-z0-9_]+)["']""")


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*PACKAGE.glob("templates/*.html"), *PACKAGE.glob("**/*.py")]:
        if path.name == "i18n.py":  # the catalogue itself
            continue
        text = path.read_text()
        keys |= set(LITERAL.findall(text))
        if path.suffix == ".py":
            keys |= set(FLASHED.findall(text))
    return keys


def test_english_and_chinese_have_the_same_keys() -> None:
    assert set(EN) == set(ZH)


def test_every_message_is_translated() -> None:
    assert [key for key, text in ZH.items() if not text.strip()] == []
    untranslated = [k for k in ZH if ZH[k] == EN[k] and re.search("[a-z]{3}", EN[k])]
    assert untranslated == []


def test_every_key_the_pages_use_exists() -> None:
    missing = sorted(_used_keys() - set(EN))
    assert missing == []


def test_placeholders_match_between_languages() -> None:
    placeholder = re.compile(r"\{[a-z]+\}")
    for key in EN:
        assert sorted(placeholder.findall(EN[key])) == sorted(placeholder.findall(ZH[key])), key


def test_error_codes_have_sentences_and_unknown_codes_keep_the_api_message() -> None:
    zh = Translator("zh")
    assert error_message(zh, "insufficient_funds", "x") == ZH["api_insufficient_funds"]
    fallback = error_message(Translator("en"), "brand_new_code", "the API says why")
    assert "brand_new_code" in fallback
    assert "the API says why" in fallback


def test_unknown_language_is_english() -> None:
    assert Translator("fr")("sign_in") == "Sign in"
