"""Evidence files: content-addressed (SHA-256) files in the shared blob store.

A file is named by the SHA-256 of its bytes, so the same content is stored once and a
statement can reference it by that name (``dispute.evidence_added.v1`` carries ``sha256``).
Files are served only to the parties of a dispute that references them (and to admins).
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

from ring_dispute.domain import DisputeError
from ring_runtime.blobs import BlobNotFound, BlobStore, check_name

#: Largest evidence file accepted (10 MiB).
MAX_FILE_BYTES = 10 * 1024 * 1024


class EvidenceFiles:
    """Evidence files in the shared content-addressed blob store (:mod:`ring_runtime.blobs`)."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    def put(self, data: bytes) -> str:
        """Store ``data`` (once per content); returns its SHA-256."""
        if not data:
            raise EmptyFile("the evidence file is empty")
        if len(data) > MAX_FILE_BYTES:
            raise FileTooLarge(f"an evidence file may have at most {MAX_FILE_BYTES} bytes")
        sha256 = hashlib.sha256(data).hexdigest()
        self.blobs.put(sha256, data, "application/octet-stream")
        return sha256

    def get(self, sha256: str) -> bytes:
        """The file's bytes."""
        try:
            return self.blobs.get(check_name(sha256))
        except ValueError:
            raise EvidenceFileNotFound(
                "a file name is 64 lowercase hexadecimal characters"
            ) from None
        except BlobNotFound:
            raise EvidenceFileNotFound(f"file {sha256} not found") from None


class FileTooLarge(DisputeError):
    code: ClassVar[str] = "file_too_large"


class EmptyFile(DisputeError):
    code: ClassVar[str] = "empty_file"


class EvidenceFileNotFound(DisputeError):
    code: ClassVar[str] = "file_not_found"
