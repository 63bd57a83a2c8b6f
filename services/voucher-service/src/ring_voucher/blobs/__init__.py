"""Blob storage port: voucher files stored under their SHA-256, never under a client's name.

:func:`blob_store_from_config` picks the implementation named by ``RING_BLOB_STORE``: ``fs``
(:class:`~ring_voucher.blobs.filesystem.FileSystemBlobStore`) or ``s3``
(:class:`~ring_voucher.blobs.s3.S3BlobStore`).
"""

from __future__ import annotations

from ring_voucher.blobs.filesystem import FileSystemBlobStore
from ring_voucher.blobs.port import BlobNotFound, BlobStore, check_name
from ring_voucher.blobs.s3 import S3BlobStore, S3Location
from ring_voucher.config import VoucherConfig

__all__ = ["BlobNotFound", "BlobStore", "blob_store_from_config", "check_name"]


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
    return FileSystemBlobStore(config.blob_dir)
