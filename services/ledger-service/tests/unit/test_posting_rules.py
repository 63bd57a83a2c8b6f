"""The posting rules every Ledger command shares, on plain aggregates (no event store).

The commands reach these rules only through their own flows (a payout is a pending transfer
posted in full or voided; a task's release refunds every open slot), so the rules' other cases
(partial posts, partial releases, every transfer guard) are pinned here, in the domain.
"""

from __future__ import annotations

import pytest

from ring_ledger.domain import (
    Account,
    AccountKey,
    CurrencyMismatch,
    Escrow,
    InvalidAmount,
    PendingTransferAlreadyResolved,
    PostExceedsPending,
    ReleaseExceedsOpenSlots,
    SameAccountTransfer,
    TransferIdReused,
    TransferNotPending,
)
from ring_ledger.domain.posting import (
    check_same_transfer,
    make_transfer,
    post_pending,
    void_pending,
)


def funded(party: str, amount_minor: int) -> Account:
    """``party``'s available account holding ``amount_minor``."""
    account = Account.open(AccountKey.available(party, "CNY"))
    account.credit("seed", "deposit", amount_minor)
    return account


def test_two_phase_partial_post_releases_remainder() -> None:
    a, b = funded("A", 1000), Account.open(AccountKey.available("B", "CNY"))
    pending = make_transfer("p1", a, b, 600, "transfer", pending=True)
    assert (a.available, a.debits_pending) == (400, 600)
    with pytest.raises(PostExceedsPending):
        post_pending(pending, a, b, 601)
    result = post_pending(pending, a, b, 250)
    assert (result.posted_minor, result.released_minor) == (250, 350)
    with pytest.raises(PendingTransferAlreadyResolved):
        void_pending(pending, a, b)
    assert (a.available, a.debits_pending) == (750, 0)
    assert (b.available, b.balance) == (250, 250)
    posted = make_transfer("p2", a, b, 100, "transfer")
    with pytest.raises(TransferNotPending):
        post_pending(posted, a, b)


def test_transfer_guards() -> None:
    a, b = funded("A", 100), Account.open(AccountKey.available("B", "CNY"))
    with pytest.raises(CurrencyMismatch):
        make_transfer("x1", a, Account.open(AccountKey.available("B", "USD")), 10, "transfer")
    with pytest.raises(SameAccountTransfer):
        make_transfer("x2", a, a, 10, "transfer")
    for bad in (0, -5, 1.5, "10"):
        with pytest.raises(InvalidAmount):
            make_transfer("x4", a, b, bad, "transfer")  # type: ignore[arg-type]
    done = make_transfer("x5", a, b, 100, "transfer")
    assert done.result.amount_minor == 100
    with pytest.raises(TransferIdReused):
        check_same_transfer(done, b, a, 100, "transfer", pending=False)
    assert (a.available, a.debits_pending) == (0, 0)


def test_partial_release_and_limits() -> None:
    escrow = Escrow(
        task_id="T", owner_id="A", currency="CNY", slots=4, commission_minor=200, fee_minor=20
    )
    assert escrow.release("r1", 1).refund_minor == 220
    with pytest.raises(ReleaseExceedsOpenSlots):
        escrow.release("r2", 4)
    with pytest.raises(InvalidAmount):
        escrow.release("r3", 0)
    assert escrow.open_slots == 3
