"""Vouchers: the route table rows to read, download and review one (the order's parties, whom
the voucher service checks; admins read through the voucher service's admin routes)."""

from __future__ import annotations

from ring_contracts.decisions import ReasonRequest
from ring_gateway.api.marketplace import VOUCHER_EXAMPLE as _VOUCHER
from ring_gateway.api.proxy import Route
from ring_gateway.api.support import ADMIN, A, B, example

ROUTES = [
    Route(
        "GET",
        "/v1/vouchers/{voucher_id:uuid}",
        "GetVoucher",
        "vouchers",
        (A, B, ADMIN),
        "voucher",
        "/vouchers/{voucher_id}",
        example(200, _VOUCHER, "Voucher"),
        admin_view=True,
        doc="The voucher with its files, flags and duplicates (the order's parties, admins).",
    ),
    Route(
        "GET",
        "/v1/vouchers/{voucher_id:uuid}/files/{sha256:str}",
        "GetVoucherFile",
        "vouchers",
        (A, B, ADMIN),
        "voucher",
        "/vouchers/{voucher_id}/files/{sha256}",
        example(200, {"binary": "…"}, "The file, typed by its sniffed content"),
        admin_view=True,
        doc="Download one file of the voucher to check the work (the order's parties, admins).",
    ),
    Route(
        "POST",
        "/v1/vouchers/{voucher_id:uuid}/approve",
        "ApproveVoucher",
        "vouchers",
        (A,),
        "voucher",
        "/vouchers/{voucher_id}/approve",
        example(200, {**_VOUCHER, "status": "approved"}, "The approved voucher"),
        status=200,
        doc="The task owner accepts the voucher; the commission is settled.",
    ),
    Route(
        "POST",
        "/v1/vouchers/{voucher_id:uuid}/reject",
        "RejectVoucher",
        "vouchers",
        (A,),
        "voucher",
        "/vouchers/{voucher_id}/reject",
        example(200, {**_VOUCHER, "status": "rejected"}, "The rejected voucher"),
        status=200,
        body=ReasonRequest,
        doc="The task owner rejects the voucher with a reason; the provider may resubmit.",
    ),
]
