"""Vouchers: read, download and review (the order's parties, who the voucher service checks;
admins read through the voucher service's admin routes)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from ring_contracts.decisions import ReasonRequest
from ring_gateway.api.marketplace import VOUCHER_EXAMPLE as _VOUCHER
from ring_gateway.api.support import (
    ADMIN,
    A,
    B,
    ContentAddress,
    Gateway,
    collection,
    example,
    forward,
    require,
)
from ring_gateway.tokens import Principal


class VoucherController(Controller):
    """Vouchers: read and review."""

    path = "/v1/vouchers"
    tags = ["vouchers"]

    @get(
        "/{voucher_id:uuid}", operation_id="GetVoucher", responses=example(200, _VOUCHER, "Voucher")
    )
    async def get_voucher(
        self,
        voucher_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """The voucher with its files, flags and duplicates (the order's parties, admins)."""
        require(principal, A, B, ADMIN)
        prefix = collection(principal, "vouchers")
        return await forward(gw, principal, "voucher", "GET", f"{prefix}/{voucher_id}")

    @get(
        "/{voucher_id:uuid}/files/{sha256:str}",
        operation_id="GetVoucherFile",
        responses=example(200, {"binary": "…"}, "The file, typed by its sniffed content"),
    )
    async def get_voucher_file(
        self,
        voucher_id: FromPath[UUID],
        sha256: FromPath[ContentAddress],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """Download one file of the voucher to check the work (the order's parties, admins)."""
        require(principal, A, B, ADMIN)
        prefix = collection(principal, "vouchers")
        return await forward(
            gw, principal, "voucher", "GET", f"{prefix}/{voucher_id}/files/{sha256}"
        )

    @post(
        "/{voucher_id:uuid}/approve",
        status_code=HTTP_200_OK,
        operation_id="ApproveVoucher",
        responses=example(200, {**_VOUCHER, "status": "approved"}, "The approved voucher"),
    )
    async def approve_voucher(
        self,
        voucher_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """The task owner accepts the voucher; the commission is settled."""
        require(principal, A)
        return await forward(gw, principal, "voucher", "POST", f"/vouchers/{voucher_id}/approve")

    @post(
        "/{voucher_id:uuid}/reject",
        status_code=HTTP_200_OK,
        operation_id="RejectVoucher",
        responses=example(200, {**_VOUCHER, "status": "rejected"}, "The rejected voucher"),
    )
    async def reject_voucher(
        self,
        voucher_id: FromPath[UUID],
        data: JSONBody[ReasonRequest],
        principal: NamedDependency[Principal],
        gw: NamedDependency[Gateway],
    ) -> Response[bytes]:
        """The task owner rejects the voucher with a reason; the provider may resubmit."""
        require(principal, A)
        return await forward(
            gw, principal, "voucher", "POST", f"/vouchers/{voucher_id}/reject", data=data
        )
