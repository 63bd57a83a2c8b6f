"""Internal HTTP API of the voucher service: thin controllers mapping requests to ``Vouchers``.

The gateway authenticates users and signs the acting user into ``X-Ring-Assertion`` (injected
here as ``actor``). Uploads are multipart: any number of ``files`` parts and one ``note``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from ring_contracts.decisions import ReasonRequest
from ring_runtime.freshness import Freshness
from ring_runtime.http import Cursor, Limit, allow
from ring_runtime.identity import ADMIN, PARTY_A, PARTY_B
from ring_voucher.application import Vouchers
from ring_voucher.domain import NoteTooLong, OrderNotFound, OrderNotOpen, Voucher
from ring_voucher.files import UnsupportedFileType


class FileView(msgspec.Struct, frozen=True, kw_only=True):
    """One file of a voucher."""

    sha256: str
    size: int
    content_type: str


class VoucherStepView(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a voucher's history."""

    status: str
    at: datetime
    note: str


class VoucherView(msgspec.Struct, frozen=True, kw_only=True):
    """A voucher as its parties see it, with the fake-voucher flags."""

    id: UUID
    order_id: UUID
    task_id: UUID
    status: str
    files: list[FileView]
    flags: list[str]
    duplicate_of: list[UUID]
    note: str
    resubmission_of: UUID | None
    review_due: datetime
    approved_automatically: bool
    history: list[VoucherStepView]
    version: int

    @classmethod
    def of(cls, voucher: Voucher) -> VoucherView:
        """The view of ``voucher``."""
        return cls(
            id=voucher.id,
            order_id=voucher.order_id,
            task_id=voucher.task_id,
            status=str(voucher.status),
            files=[
                FileView(sha256=f.sha256, size=f.size, content_type=f.content_type)
                for f in voucher.files
            ],
            flags=list(voucher.flags),
            duplicate_of=list(voucher.duplicate_of),
            note=voucher.note,
            resubmission_of=voucher.resubmission_of,
            review_due=voucher.review_due,
            approved_automatically=voucher.approved_automatically,
            history=[
                VoucherStepView(status=str(s.status), at=s.at, note=s.note) for s in voucher.history
            ],
            version=voucher.version,
        )


class VoucherPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of an order's vouchers and the cursor of the next page (``None`` on the last)."""

    items: list[VoucherView]
    next_cursor: str | None


class VoucherCreated(msgspec.Struct, frozen=True, kw_only=True):
    """A voucher was handed in: its id and the content address of each file, in upload order."""

    id: UUID
    sha256: list[str]


class OrderVoucherController(Controller):
    """Vouchers of an order: hand one in, list them."""

    path = "/orders"
    tags = ["vouchers"]

    @post(
        "/{order_id:uuid}/vouchers",
        status_code=HTTP_201_CREATED,
        operation_id="SubmitVoucher",
        guards=[allow(PARTY_B)],
    )
    async def create_voucher(
        self,
        actor: NamedDependency[UUID],
        order_id: FromPath[UUID],
        request: Request[Any, Any, Any],
        vouchers: NamedDependency[Vouchers],
        freshness: NamedDependency[Freshness],
    ) -> VoucherCreated:
        """The order's provider hands in files (multipart ``files``) and a ``note``."""
        form = await request.form()
        max_bytes = vouchers.config.max_file_bytes
        uploads = [await _read(part, max_bytes) for part in form.getall("files", []) if part]
        note = form.get("note") or ""
        if not isinstance(note, str):
            raise NoteTooLong("the note must be a text field")
        voucher = await freshness.judge(
            vouchers.submit, order_id, actor, uploads, note, refusals=(OrderNotFound, OrderNotOpen)
        )
        return VoucherCreated(id=voucher.id, sha256=[f.sha256 for f in voucher.files])

    @get("/{order_id:uuid}/vouchers", operation_id="ListOrderVouchers")
    async def list_vouchers(
        self,
        actor: NamedDependency[UUID],
        order_id: FromPath[UUID],
        vouchers: NamedDependency[Vouchers],
        freshness: NamedDependency[Freshness],
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> VoucherPage:
        """The order's vouchers, oldest first (resubmissions keep the history), a page at a time."""
        found, following = await freshness.judge(
            functools.partial(vouchers.vouchers_of_order, cursor=cursor, limit=limit),
            order_id,
            actor,
            refusals=(OrderNotFound,),
        )
        return VoucherPage(items=[VoucherView.of(v) for v in found], next_cursor=following)


class VoucherController(Controller):
    """One voucher: read it, approve it, reject it."""

    path = "/vouchers"
    tags = ["vouchers"]

    @get("/{voucher_id:uuid}", operation_id="GetVoucher")
    async def get_voucher(
        self,
        actor: NamedDependency[UUID],
        voucher_id: FromPath[UUID],
        vouchers: NamedDependency[Vouchers],
    ) -> VoucherView:
        """The voucher with its files, flags and history; for the order's parties."""
        return VoucherView.of(await asyncio.to_thread(vouchers.get_voucher_for, voucher_id, actor))

    @get("/{voucher_id:uuid}/files/{sha256:str}", operation_id="GetVoucherFile")
    async def get_voucher_file(
        self,
        actor: NamedDependency[UUID],
        voucher_id: FromPath[UUID],
        sha256: FromPath[str],
        vouchers: NamedDependency[Vouchers],
    ) -> Response[bytes]:
        """Download one file of the voucher; for the order's parties."""
        return await _download(
            vouchers, functools.partial(vouchers.get_voucher_for, voucher_id, actor), sha256
        )

    @post(
        "/{voucher_id:uuid}/approve",
        status_code=HTTP_200_OK,
        operation_id="ApproveVoucher",
        guards=[allow(PARTY_A)],
    )
    async def approve_voucher(
        self,
        actor: NamedDependency[UUID],
        voucher_id: FromPath[UUID],
        vouchers: NamedDependency[Vouchers],
    ) -> VoucherView:
        """The task owner accepts the voucher; settlement follows."""
        return VoucherView.of(await asyncio.to_thread(vouchers.approve, voucher_id, actor))

    @post(
        "/{voucher_id:uuid}/reject",
        status_code=HTTP_200_OK,
        operation_id="RejectVoucher",
        guards=[allow(PARTY_A)],
    )
    async def reject_voucher(
        self,
        actor: NamedDependency[UUID],
        voucher_id: FromPath[UUID],
        data: JSONBody[ReasonRequest],
        vouchers: NamedDependency[Vouchers],
    ) -> VoucherView:
        """The task owner rejects the voucher with a reason; the provider may resubmit."""
        return VoucherView.of(
            await asyncio.to_thread(vouchers.reject, voucher_id, actor, data.reason)
        )


class AdminVoucherController(Controller):
    """Any voucher and its files, for arbitration (the gateway lets admins only)."""

    path = "/admin/vouchers"
    tags = ["admin"]

    @get("/{voucher_id:uuid}", operation_id="GetVoucherAsAdmin", guards=[allow(ADMIN)])
    async def get_voucher(
        self, voucher_id: FromPath[UUID], vouchers: NamedDependency[Vouchers]
    ) -> VoucherView:
        """Any voucher with its files, flags and history."""
        return VoucherView.of(await asyncio.to_thread(vouchers.get_voucher, voucher_id))

    @get(
        "/{voucher_id:uuid}/files/{sha256:str}",
        operation_id="GetVoucherFileAsAdmin",
        guards=[allow(ADMIN)],
    )
    async def get_voucher_file(
        self, voucher_id: FromPath[UUID], sha256: FromPath[str], vouchers: NamedDependency[Vouchers]
    ) -> Response[bytes]:
        """Any file of any voucher."""
        return await _download(
            vouchers, functools.partial(vouchers.get_voucher, voucher_id), sha256
        )


async def _download(
    vouchers: Vouchers, voucher: Callable[[], Voucher], sha256: str
) -> Response[bytes]:
    """The file as an attachment, typed by the content sniffed at upload (never by the client);
    the voucher is loaded and the file read in the same worker thread."""
    file, data = await asyncio.to_thread(lambda: vouchers.file_of(voucher(), sha256))
    return Response(
        data,
        media_type=file.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{file.sha256}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


def order_voucher_controller(max_request_bytes: int) -> type[OrderVoucherController]:
    """:class:`OrderVoucherController` accepting multipart bodies up to ``max_request_bytes``."""
    return type(
        "OrderVoucherController",
        (OrderVoucherController,),
        {"request_max_body_size": max_request_bytes},
    )


async def _read(part: object, max_bytes: int) -> bytes:
    """The bytes of one ``files`` part; reads at most one byte past the limit."""
    if not isinstance(part, UploadFile):
        raise UnsupportedFileType("every `files` part must be a file upload")
    try:
        return await part.read(max_bytes + 1)
    finally:
        await part.close()
