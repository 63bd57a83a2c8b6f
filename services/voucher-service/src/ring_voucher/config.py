"""Voucher-service configuration: limits, review window and blob store, from the environment.

Every variable is declared with its default in ``ring_runtime.settings.ENVIRONMENT``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from ring_runtime.settings import ENVIRONMENT, SettingsError, whole_number

_DEFAULTS = {v.name: v.default for v in ENVIRONMENT}
#: Room for the note and the multipart framing on top of the files themselves.
FORM_OVERHEAD_BYTES = 1 << 20


@dataclass(frozen=True)
class VoucherConfig:
    """What the voucher service reads from ``RING_BLOB_*``, ``RING_S3_*``, ``RING_VOUCHER_*``."""

    blob_store: str = "fs"
    blob_dir: str = ".ring/blobs"
    s3_endpoint: str = ""
    s3_bucket: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    max_file_bytes: int = 10 * 1024 * 1024
    max_files: int = 10
    review_window: timedelta = timedelta(hours=72)
    timer_poll_interval: float = 1.0

    @property
    def max_request_bytes(self) -> int:
        """Largest multipart body accepted: every file at its limit, plus the form."""
        return self.max_files * (self.max_file_bytes + 1) + FORM_OVERHEAD_BYTES

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> VoucherConfig:
        """Read the configuration (default: the process environment).

        Raises:
            SettingsError: a variable holds a value that cannot be used.
        """
        source = os.environ if environ is None else environ

        def get(name: str) -> str:
            return source.get(name, _DEFAULTS[name])

        def positive(name: str) -> int:
            return whole_number(source, name)

        store = get("RING_BLOB_STORE").strip().lower()
        if store not in ("fs", "s3"):
            raise SettingsError(f"RING_BLOB_STORE must be fs or s3, got {store!r}")
        return cls(
            blob_store=store,
            blob_dir=get("RING_BLOB_DIR"),
            s3_endpoint=get("RING_S3_ENDPOINT"),
            s3_bucket=get("RING_S3_BUCKET"),
            s3_access_key=get("RING_S3_ACCESS_KEY"),
            s3_secret_key=get("RING_S3_SECRET_KEY"),
            s3_region=get("RING_S3_REGION"),
            max_file_bytes=positive("RING_VOUCHER_MAX_FILE_BYTES"),
            max_files=positive("RING_VOUCHER_MAX_FILES"),
            review_window=timedelta(hours=positive("RING_VOUCHER_REVIEW_WINDOW_HOURS")),
            timer_poll_interval=positive("RING_TIMER_POLL_INTERVAL_MS") / 1000,
        )
