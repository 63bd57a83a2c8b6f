"""Evidence files over HTTP: upload with a statement, download for parties and admins."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.status_codes import HTTP_201_CREATED

from ring_dispute.api import DisputeView, viewed
from ring_dispute.application import Disputes
from ring_dispute.domain import Dispute, ReasonRequired
from ring_dispute.files import MAX_FILE_BYTES, EmptyFile, EvidenceFileNotFound, EvidenceFiles
from ring_runtime.http import allow
from ring_runtime.identity import ADMIN, PARTY_A, PARTY_B


class EvidenceFileController(Controller):
    """``POST /disputes/{id}/evidence/files`` (multipart ``file`` + ``statement``) and downloads."""

    path = "/disputes"
    tags = ["disputes"]
    request_max_body_size = MAX_FILE_BYTES + 64 * 1024

    @post(
        "/{dispute_id:uuid}/evidence/files",
        status_code=HTTP_201_CREATED,
        operation_id="AddEvidenceFile",
        guards=[allow(PARTY_A, PARTY_B)],
    )
    async def create_evidence_file(
        self,
        actor: NamedDependency[UUID],
        dispute_id: FromPath[UUID],
        request: Request[Any, Any, Any],
        disputes: NamedDependency[Disputes],
        files: NamedDependency[EvidenceFiles],
    ) -> DisputeView:
        """A party uploads one file with a statement; it is stored under its SHA-256.

        The party is checked before the body is read (a stranger's upload is not read), then
        the file is stored, the evidence added and the answer built in one worker thread."""
        await asyncio.to_thread(disputes.get_dispute_for, dispute_id, actor)
        form = await request.form()
        part, statement = form.get("file"), form.get("statement") or ""
        if not isinstance(part, UploadFile):
            raise EmptyFile("a multipart `file` part is required")
        if not isinstance(statement, str) or not statement.strip():
            raise ReasonRequired("a `statement` text field is required")
        try:
            data = await part.read(MAX_FILE_BYTES + 1)
        finally:
            await part.close()

        def add_evidence() -> Dispute:
            return disputes.add_evidence(dispute_id, actor, statement, files.put(data))

        return await viewed(disputes, add_evidence)

    @get("/{dispute_id:uuid}/files/{sha256:str}", operation_id="GetEvidenceFile")
    async def get_evidence_file(
        self,
        actor: NamedDependency[UUID],
        dispute_id: FromPath[UUID],
        sha256: FromPath[str],
        disputes: NamedDependency[Disputes],
        files: NamedDependency[EvidenceFiles],
    ) -> Response[bytes]:
        """A file referenced by the dispute's evidence; parties only."""
        return await _download(
            functools.partial(disputes.get_dispute_for, dispute_id, actor), sha256, files
        )


class AdminEvidenceFileController(Controller):
    """Admins download any evidence file of a case."""

    path = "/admin/disputes"
    tags = ["admin"]

    @get(
        "/{dispute_id:uuid}/files/{sha256:str}",
        operation_id="GetEvidenceFileAsAdmin",
        guards=[allow(ADMIN)],
    )
    async def get_evidence_file(
        self,
        dispute_id: FromPath[UUID],
        sha256: FromPath[str],
        disputes: NamedDependency[Disputes],
        files: NamedDependency[EvidenceFiles],
    ) -> Response[bytes]:
        """A file referenced by the dispute's evidence."""
        return await _download(functools.partial(disputes.get_dispute, dispute_id), sha256, files)


async def _download(
    dispute: Callable[[], Dispute], sha256: str, files: EvidenceFiles
) -> Response[bytes]:
    """The evidence file as an attachment; the dispute is loaded and the file read in one
    worker thread."""

    def read() -> bytes:
        case = dispute()
        if sha256 not in {e.sha256 for e in case.evidence}:
            raise EvidenceFileNotFound(f"file {sha256} is not evidence of dispute {case.id}")
        return files.get(sha256)

    data = await asyncio.to_thread(read)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{sha256}"'},
    )
