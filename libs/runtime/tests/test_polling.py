"""The blocking poll used by end-to-end tests."""

from __future__ import annotations

import pytest

from ring_runtime.testing import wait_until


def test_wait_until_returns_the_first_truthy_value() -> None:
    answers = iter([0, None, "ready"])
    assert wait_until(lambda: next(answers), within=5, every=0.01) == "ready"


def test_wait_until_fails_naming_what_it_waited_for() -> None:
    asked: list[str] = []

    def what() -> str:
        asked.append("log")
        return "the banner"

    with pytest.raises(pytest.fail.Exception, match=r"the banner not reached within 0\.05 s"):
        wait_until(lambda: False, within=0.05, every=0.01, what=what)
    assert asked == ["log"], "the description is built once, at failure"
