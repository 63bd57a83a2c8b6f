"""Public events of the voucher context (topic ``ring.voucher.events``): proof of completion.

A voucher is what Party B hands in for an order: files identified by their SHA-256, checked
for reuse (``flags``), then approved by Party A (or automatically after the review window) or
rejected with a reason. A resubmission is a new voucher on the same order (``resubmission_of``).
The message key is the **order id**, so an order's vouchers are consumed in order; the voucher
id is in the ``aggregate_id`` header.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from ring_events.base import Id, IntegrationEvent

#: Lower-case hex SHA-256 of a file's bytes; also its name in the blob store.
Sha256 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
#: Size of a file in bytes.
ByteSize = Annotated[int, msgspec.Meta(ge=0)]

#: Flag: a file's SHA-256 was already used in a voucher of another order.
DUPLICATE_CONTENT = "duplicate_content"
#: Flag: an image looks like (perceptual hash) an image of another order's voucher.
SIMILAR_IMAGE = "similar_image"


class VoucherFile(msgspec.Struct, frozen=True, kw_only=True):
    """One file of a voucher: content address, size, type sniffed from its bytes."""

    sha256: Sha256
    size: ByteSize
    content_type: str


class VoucherEventFields(IntegrationEvent, frozen=True, kw_only=True):
    """Fields every voucher event carries: the voucher, its order and both parties. Not a message
    itself."""

    voucher_id: Id
    order_id: Id
    task_id: Id
    owner_id: Id
    provider_id: Id


class VoucherSubmitted(VoucherEventFields, frozen=True, kw_only=True, tag="voucher.submitted.v1"):
    """The provider handed in a voucher for review.

    ``flags`` hold ``duplicate_content`` / ``similar_image`` when files were seen on other
    orders (``duplicate_of`` names those vouchers); flags inform the reviewer, they never
    reject a voucher by themselves.
    """

    files: tuple[VoucherFile, ...]
    flags: tuple[str, ...] = ()
    duplicate_of: tuple[Id, ...] = ()
    resubmission_of: Id | None = None


class VoucherApproved(VoucherEventFields, frozen=True, kw_only=True, tag="voucher.approved.v1"):
    """The owner accepted the voucher, or the review window ran out (``automatic``)."""

    automatic: bool = False


class VoucherRejected(VoucherEventFields, frozen=True, kw_only=True, tag="voucher.rejected.v1"):
    """The owner rejected the voucher; the provider may resubmit or open a dispute."""

    reason: str


#: Every message on ``ring.voucher.events``.
VoucherEvent = VoucherSubmitted | VoucherApproved | VoucherRejected
