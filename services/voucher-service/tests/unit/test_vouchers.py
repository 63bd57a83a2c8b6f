"""Vouchers: who may hand in and review, flags, resubmission, automatic approval."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from ring_voucher.domain import (
    AlreadyDecided,
    NoFiles,
    NotOrderParty,
    NotOrderProvider,
    NotTaskOwner,
    OrderAlreadyApproved,
    OrderNotFound,
    OrderNotOpen,
    ReasonRequired,
    TooManyFiles,
    VoucherStatus,
    VoucherUnderReview,
)
from ring_voucher.files import FileTooLarge, UnsupportedFileType

from .conftest import World, picture

PDF = b"%PDF-1.7\nreport"


def test_the_provider_hands_in_a_voucher(world: World) -> None:
    order_id = world.orders.add(world.owner, world.provider)
    voucher_id = world.submit(order_id, [picture(1), PDF], note="all boxes drawn")
    voucher = world.app.get_voucher(voucher_id)
    assert voucher.status is VoucherStatus.SUBMITTED
    assert [f.content_type for f in voucher.files] == ["image/png", "application/pdf"]
    assert voucher.files[0].phash is not None
    assert voucher.files[1].phash is None
    assert voucher.review_due == world.clock.now() + timedelta(hours=72)
    assert voucher.flags == ()
    assert voucher.resubmission_of is None
    assert all(world.blobs.exists(f.sha256) for f in voucher.files)


def test_only_the_orders_provider_hands_in(world: World) -> None:
    order_id = world.orders.add(world.owner, world.provider)
    with pytest.raises(NotOrderProvider):
        world.app.submit(order_id, world.owner, [PDF], "")
    with pytest.raises(OrderNotFound):
        world.app.submit(uuid4(), world.provider, [PDF], "")


@pytest.mark.parametrize("status", ["applied", "declined", "approved", "settled", "expired"])
def test_an_order_must_be_open_for_work(world: World, status: str) -> None:
    order_id = world.orders.add(world.owner, world.provider, status=status)
    with pytest.raises(OrderNotOpen):
        world.submit(order_id, [PDF])


def test_refused_uploads_store_nothing(world: World) -> None:
    order_id = world.orders.add(world.owner, world.provider)
    with pytest.raises(NoFiles):
        world.submit(order_id, [])
    with pytest.raises(TooManyFiles):
        world.submit(order_id, [PDF] * 4)
    with pytest.raises(FileTooLarge):
        world.submit(order_id, [PDF, b"%PDF-" + b"x" * 200_000])
    with pytest.raises(UnsupportedFileType):
        world.submit(order_id, [PDF, b"\x7fELF\x02\x01\x01\x00"])
    assert world.blobs.blobs == {}
    assert world.app.vouchers_of_order(order_id, world.owner) == ([], None)


def test_the_same_file_on_another_order_is_flagged(world: World) -> None:
    first = world.submit(world.orders.add(world.owner, world.provider), [PDF])
    second = world.submit(world.orders.add(world.owner, world.provider), [PDF])
    voucher = world.app.get_voucher(second)
    assert voucher.flags == ("duplicate_content",)
    assert voucher.duplicate_of == (first,)


def test_only_the_task_owner_reviews(world: World) -> None:
    voucher_id = world.submit(world.orders.add(world.owner, world.provider), [PDF])
    with pytest.raises(NotTaskOwner):
        world.app.approve(voucher_id, world.provider)
    with pytest.raises(NotTaskOwner):
        world.app.reject(voucher_id, uuid4(), "no")
    with pytest.raises(NotOrderParty):
        world.app.get_voucher_for(voucher_id, uuid4())


def test_rejection_needs_a_reason_and_allows_a_resubmission(world: World) -> None:
    order_id = world.orders.add(world.owner, world.provider)
    first = world.submit(order_id, [PDF])
    with pytest.raises(VoucherUnderReview):
        world.submit(order_id, [picture(2)])
    with pytest.raises(ReasonRequired):
        world.app.reject(first, world.owner, "  ")
    world.app.reject(first, world.owner, "blurry photos")
    second = world.submit(order_id, [PDF])
    resubmitted = world.app.get_voucher(second)
    assert resubmitted.resubmission_of == first
    assert resubmitted.flags == (), "reusing a file on the same order is not suspicious"
    history, following = world.app.vouchers_of_order(order_id, world.provider)
    assert ([v.id for v in history], following) == ([first, second], None)
    assert [s.status for s in history[0].history] == ["submitted", "rejected"]
    assert history[0].history[-1].note == "blurry photos"


def test_approval_closes_the_order_to_more_vouchers(world: World) -> None:
    order_id = world.orders.add(world.owner, world.provider)
    voucher_id = world.submit(order_id, [PDF])
    world.app.approve(voucher_id, world.owner)
    with pytest.raises(AlreadyDecided):
        world.app.reject(voucher_id, world.owner, "too late")
    with pytest.raises(OrderAlreadyApproved):
        world.submit(order_id, [picture(3)])


def test_automatic_approval_happens_once(world: World) -> None:
    voucher_id = world.submit(world.orders.add(world.owner, world.provider), [PDF])
    world.clock.advance(timedelta(hours=72))
    assert world.app.auto_approve(voucher_id) is True
    assert world.app.auto_approve(voucher_id) is False
    voucher = world.app.get_voucher(voucher_id)
    assert voucher.status is VoucherStatus.APPROVED
    assert voucher.approved_automatically
    assert voucher.history[-1].at == world.clock.now()


def test_automatic_approval_leaves_a_decided_voucher_alone(world: World) -> None:
    voucher_id = world.submit(world.orders.add(world.owner, world.provider), [PDF])
    world.app.reject(voucher_id, world.owner, "wrong files")
    assert world.app.auto_approve(voucher_id) is False
    assert world.app.get_voucher(voucher_id).status is VoucherStatus.REJECTED
