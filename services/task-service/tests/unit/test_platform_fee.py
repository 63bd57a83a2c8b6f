from __future__ import annotations

import pytest

from ring_task.domain import platform_fee


@pytest.mark.parametrize(
    ("commission", "bps", "fee"),
    [
        (10_000, 500, 500),  # exact
        (10, 500, 1),  # 0.5 rounds up
        (9, 500, 0),  # 0.45 rounds down
        (29, 500, 1),  # 1.45 rounds down
        (30, 500, 2),  # 1.5 rounds up
        (1, 0, 0),
        (12_345, 10_000, 12_345),
    ],
)
def test_fee_is_rounded_half_up_to_the_minor_unit(commission: int, bps: int, fee: int) -> None:
    assert platform_fee(commission, bps) == fee


@pytest.mark.parametrize(("commission", "bps"), [(-1, 500), (100, -1), (100, 10_001)])
def test_fee_rejects_impossible_inputs(commission: int, bps: int) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        platform_fee(commission, bps)
