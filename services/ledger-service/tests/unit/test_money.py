"""Money arithmetic: integer minor units, ISO currencies, documented split rounding.

The platform fee and its rounding rule belong to the task service (``platform_fee``).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ring_ledger.domain import InvalidAmount, InvalidSharePercent, split_share
from ring_ledger.domain.money import InvalidCurrency, check_amount, check_currency


@pytest.mark.parametrize(
    ("amount", "percent", "parts"),
    [
        (101, 50, (50, 51)),
        (100, 100, (100, 0)),
        (100, 0, (0, 100)),
        (7, 33, (2, 5)),
        (0, 40, (0, 0)),
    ],
)
def test_split_share_floors_provider_part(
    amount: int, percent: int, parts: tuple[int, int]
) -> None:
    assert split_share(amount, percent) == parts


@given(st.integers(0, 10**12), st.integers(0, 100))
def test_split_share_conserves_money(amount: int, percent: int) -> None:
    share, rest = split_share(amount, percent)
    assert share + rest == amount
    assert share * 100 <= amount * percent < (share + 1) * 100


@pytest.mark.parametrize("percent", [-1, 101, 50.0])
def test_split_percent_in_range(percent: object) -> None:
    with pytest.raises(InvalidSharePercent):
        split_share(100, percent)  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["cny", "CN", "CNYY", "", "12A", None])
def test_currency_must_be_iso_code(currency: object) -> None:
    with pytest.raises(InvalidCurrency):
        check_currency(currency)  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", [-1, 0, 1.0, "10", None, True])
def test_amount_must_be_positive_int(amount: object) -> None:
    with pytest.raises(InvalidAmount):
        check_amount(amount)  # type: ignore[arg-type]
