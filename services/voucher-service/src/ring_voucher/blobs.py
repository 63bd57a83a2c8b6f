"""The voucher service's blob store, as its configuration names it (``fs`` or ``s3``).

The stores themselves are shared plumbing in :mod:`ring_runtime.blobs`.
"""

from __future__ import annotations

from pathlib import Path

from ring_runtime.blobs import BlobStore, FileSystemBlobStore, S3BlobStore, S3Location
from ring_voucher.config import VoucherConfig


def blob_store_from_config(config: VoucherConfig) -> BlobStore:
    """The blob store ``config`` names (``fs`` or ``s3``)."""
    if config.blob_store == "s3":
        return S3BlobStore(
            S3Location(
                endpoint=config.s3_endpoint,
                bucket=config.s3_bucket,
                access_key=config.s3_access_key,
                secret_key=config.s3_secret_key,
                region=config.s3_region,
            )
        )
    return FileSystemBlobStore(Path(config.blob_dir))
