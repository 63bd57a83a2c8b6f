"""Which arbitrator decisions count as a dispute lost by the provider."""

from __future__ import annotations

import pytest

from ring_matching.domain import dispute_lost_by_provider


@pytest.mark.parametrize(
    ("outcome", "provider_share_percent", "lost"),
    [
        ("refund", 0, True),
        ("release", 100, False),
        ("split", 1, True),
        ("split", 33, True),
        ("split", 49, True),
        ("split", 50, False),  # an even split is no defeat
        ("split", 99, False),
    ],
)
def test_a_dispute_is_lost_when_the_provider_keeps_less_than_half(
    outcome: str, provider_share_percent: int, lost: bool
) -> None:
    assert dispute_lost_by_provider(outcome, provider_share_percent) is lost
