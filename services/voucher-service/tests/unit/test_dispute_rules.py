"""The voucher context's dispute rules, in its domain: no approval under an open dispute."""

from __future__ import annotations

import pytest

from ring_voucher.domain import (
    OPEN,
    RESOLVED,
    WITHDRAWN,
    DeferredByDispute,
    OrderUnderDispute,
    approves_automatically,
    check_manual_approval,
)


def test_the_owner_may_not_approve_while_a_dispute_is_open() -> None:
    with pytest.raises(OrderUnderDispute):
        check_manual_approval(OPEN)
    for state in (None, RESOLVED, WITHDRAWN):
        check_manual_approval(state)


def test_the_review_window_s_end_approves_unless_a_dispute_decides() -> None:
    with pytest.raises(DeferredByDispute):
        approves_automatically(OPEN)
    assert approves_automatically(RESOLVED) is False
    assert approves_automatically(WITHDRAWN) is True
    assert approves_automatically(None) is True
