"""How every service's config reads a number: the declared default when unset, refused with
the variable's name when it is not a whole number or is too small."""

from __future__ import annotations

import pytest

from ring_runtime.settings import SettingsError, whole_number


def test_an_unset_variable_is_its_declared_default() -> None:
    assert whole_number({}, "RING_TIMER_POLL_INTERVAL_MS") == 1000


def test_a_set_variable_is_read() -> None:
    assert whole_number({"RING_MATCHING_MAX_SCAN": "20"}, "RING_MATCHING_MAX_SCAN") == 20


@pytest.mark.parametrize(("raw", "minimum"), [("soon", 1), ("0", 1), ("-1", 0)])
def test_a_value_that_cannot_be_used_is_refused_by_name(raw: str, minimum: int) -> None:
    with pytest.raises(SettingsError, match="RING_WEBHOOK_TIMEOUT_MS"):
        whole_number({"RING_WEBHOOK_TIMEOUT_MS": raw}, "RING_WEBHOOK_TIMEOUT_MS", minimum)
