"""Blobs as files: ``<root>/<first two hex digits>/<sha256>``, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ring_runtime.blobs.port import BlobNotFound, check_name


class FileSystemBlobStore:
    """Content-addressed files under ``root`` (``RING_BLOB_DIR``, default ``.ring/blobs``)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the blob named ``sha256`` lives."""
        name = check_name(sha256)
        return self.root / name[:2] / name

    def put(self, sha256: str, data: bytes, content_type: str) -> None:
        """Write the blob through a temporary file and an atomic rename; skip if present."""
        target = self.path(sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, sha256: str) -> bytes:
        """The blob's bytes."""
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {sha256}") from None

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        return self.path(sha256).exists()
