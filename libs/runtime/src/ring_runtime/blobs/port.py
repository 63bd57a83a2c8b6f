"""The blob storage port: content-addressed, the name of a blob is the SHA-256 of its bytes."""

from __future__ import annotations

import re
from typing import Protocol

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobStore(Protocol):
    """Where files (voucher proofs, dispute evidence) are kept."""

    def put(self, sha256: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``sha256`` (idempotent: a name always holds the same bytes)."""
        ...

    def get(self, sha256: str) -> bytes:
        """The bytes stored under ``sha256``; raises :class:`BlobNotFound` when absent."""
        ...

    def exists(self, sha256: str) -> bool:
        """Whether a blob is stored under ``sha256``."""
        ...


class BlobNotFound(LookupError):
    """No blob is stored under the name."""

    code = "blob_not_found"


def check_name(sha256: str) -> str:
    """``sha256`` if it is a lower-case hex SHA-256, so it is safe as a path or an object key."""
    if not _SHA256.match(sha256):
        raise ValueError(f"not a SHA-256 blob name: {sha256!r}")
    return sha256
