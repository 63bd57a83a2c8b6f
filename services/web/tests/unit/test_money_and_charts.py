"""Amounts as typed and shown, the fee preview, and the server-drawn charts."""

from __future__ import annotations

import pytest
from ring_web.charts import bar_chart, completion_times, line_chart, median
from ring_web.money import InvalidAmount, format_money, parse_amount, task_total


@pytest.mark.parametrize(
    ("text", "minor"),
    [("120", 12000), ("120.5", 12050), ("0.01", 1), ("1,000.00", 100000), ("¥8", 800)],
)
def test_amounts_are_read_in_minor_units(text: str, minor: int) -> None:
    assert parse_amount(text) == minor


@pytest.mark.parametrize("text", ["", "abc", "0", "-5", "1.234", "NaN", "Infinity", "1e30"])
def test_bad_amounts_are_refused(text: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(text)


def test_amounts_are_shown_with_symbol_and_cents() -> None:
    assert format_money(123456, "CNY") == "¥1,234.56"
    assert format_money(-5, "CNY") == "-¥0.05"
    assert format_money(100, "GBP") == "1.00 GBP"


def test_fee_is_rounded_half_up_like_the_task_service() -> None:
    assert task_total(10_000, 2, 500) == (500, 21_000)
    assert task_total(10, 1, 500) == (1, 11)  # 0.5 rounds up
    assert task_total(9, 1, 500) == (0, 9)  # 0.45 rounds down


def test_bar_chart_escapes_labels_and_scales_to_the_largest() -> None:
    svg = str(bar_chart("Tasks <by> status", [("<script>", 4), ("done", 2)]))
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert 'role="img"' in svg
    widths = [int(w) for w in __import__("re").findall(r'rect x="\d+" y="\d+" width="(\d+)"', svg)]
    assert widths[0] == 2 * widths[1]


def test_charts_without_data_are_empty() -> None:
    assert str(bar_chart("t", [])) == ""
    assert str(line_chart("t", [("a", 1)])) == ""
    assert "polyline" in str(line_chart("t", [("a", 1), ("b", 3)]))


def test_completion_times_are_counted_per_bucket() -> None:
    hour, day = 3600, 86400
    took = [60, hour - 1, hour, day + 5, 8 * day]
    assert completion_times(lambda key: key, took) == [
        ("took_within_hour", 2),
        ("took_within_day", 1),
        ("took_within_week", 1),
        ("took_over_week", 1),
    ]
    assert completion_times(lambda key: key, []) == []


def test_median_of_completion_times() -> None:
    assert median([]) is None
    assert median([5, 1, 3]) == 3
    assert median([4, 1, 3, 2]) == 2.5
