"""Content-addressed blob storage: files stored under their SHA-256, never under a client's name.

:func:`blob_store_from_environment` picks the implementation named by ``RING_BLOB_STORE``:
``fs`` (:class:`~ring_runtime.blobs.filesystem.FileSystemBlobStore` under ``RING_BLOB_DIR``) or
``s3`` (:class:`~ring_runtime.blobs.s3.S3BlobStore`, the ``RING_S3_*`` settings). Voucher files
and dispute evidence share it; equal content is stored once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ring_runtime.blobs.filesystem import FileSystemBlobStore
from ring_runtime.blobs.port import BlobNotFound, BlobStore, check_name
from ring_runtime.blobs.s3 import S3BlobStore, S3Location
from ring_runtime.settings import ENVIRONMENT

__all__ = [
    "BlobNotFound",
    "BlobStore",
    "FileSystemBlobStore",
    "S3BlobStore",
    "S3Location",
    "blob_store_from_environment",
    "check_name",
]

_DEFAULTS = {v.name: v.default for v in ENVIRONMENT}


def blob_store_from_environment(environ: Mapping[str, str] | None = None) -> BlobStore:
    """The blob store the environment names (``RING_BLOB_STORE``: ``fs`` or ``s3``).

    Raises:
        ValueError: ``RING_BLOB_STORE`` names no known store.
    """
    source = os.environ if environ is None else environ

    def get(name: str) -> str:
        return source.get(name, _DEFAULTS[name])

    kind = get("RING_BLOB_STORE")
    if kind == "s3":
        return S3BlobStore(
            S3Location(
                endpoint=get("RING_S3_ENDPOINT"),
                bucket=get("RING_S3_BUCKET"),
                access_key=get("RING_S3_ACCESS_KEY"),
                secret_key=get("RING_S3_SECRET_KEY"),
                region=get("RING_S3_REGION"),
            )
        )
    if kind == "fs":
        return FileSystemBlobStore(Path(get("RING_BLOB_DIR")))
    raise ValueError(f"RING_BLOB_STORE must be fs or s3, got {kind!r}")
