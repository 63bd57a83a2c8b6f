"""Blob stores: content-addressed names, the filesystem store, and S3 requests with SigV4.

No S3 server is used: the signer is checked against the published AWS SigV4 example and the
store's requests against a fake transport (``httpx.MockTransport``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from ring_runtime.blobs import BlobNotFound
from ring_runtime.blobs.filesystem import FileSystemBlobStore
from ring_runtime.blobs.s3 import EMPTY_SHA256, S3BlobStore, S3Location, sign_v4
from ring_voucher.blobs import blob_store_from_config
from ring_voucher.config import VoucherConfig

DATA = b"%PDF-1.7 proof"
NAME = hashlib.sha256(DATA).hexdigest()


def test_filesystem_store_keeps_blobs_under_their_hash(tmp_path: Path) -> None:
    store = FileSystemBlobStore(tmp_path)
    store.put(NAME, DATA, "application/pdf")
    store.put(NAME, DATA, "application/pdf")
    assert store.get(NAME) == DATA
    assert store.exists(NAME)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [NAME]
    with pytest.raises(BlobNotFound):
        store.get("0" * 64)


@pytest.mark.parametrize("name", ["../../etc/passwd", "A" * 64, "report.pdf", ""])
def test_names_that_are_not_hashes_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        FileSystemBlobStore(tmp_path).put(name, DATA, "application/pdf")


def test_sigv4_matches_the_aws_example() -> None:
    """AWS S3 docs, "Signature calculation: GET object" example."""
    headers = sign_v4(
        method="GET",
        url="https://examplebucket.s3.amazonaws.com/test.txt",
        headers={"Range": "bytes=0-9"},
        payload_sha256=EMPTY_SHA256,
        access_key="AKIAIOSFODNN7EXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region="us-east-1",
        at=datetime(2013, 5, 24, tzinfo=UTC),
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


def test_s3_store_puts_gets_and_heads_signed_objects() -> None:
    objects: dict[str, bytes] = {}
    seen: list[httpx.Request] = []

    def bucket(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert request.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AK/")
        key = request.url.path
        if request.method == "PUT":
            assert request.headers["x-amz-content-sha256"] == NAME
            objects[key] = request.content
            return httpx.Response(200)
        if key not in objects:
            return httpx.Response(404)
        return httpx.Response(200, content=objects[key] if request.method == "GET" else b"")

    store = S3BlobStore(
        S3Location(
            endpoint="http://minio:9000", bucket="vouchers", access_key="AK", secret_key="SK"
        ),
        transport=httpx.MockTransport(bucket),
    )
    assert not store.exists(NAME)
    store.put(NAME, DATA, "application/pdf")
    assert store.exists(NAME)
    assert store.get(NAME) == DATA
    with pytest.raises(BlobNotFound):
        store.get("f" * 64)
    assert seen[1].url.path == f"/vouchers/blobs/{NAME[:2]}/{NAME}"
    assert seen[1].headers["content-type"] == "application/pdf"


def test_the_store_is_chosen_by_configuration(tmp_path: Path) -> None:
    assert isinstance(
        blob_store_from_config(VoucherConfig(blob_dir=str(tmp_path))), FileSystemBlobStore
    )
    s3 = VoucherConfig(blob_store="s3", s3_endpoint="http://minio:9000", s3_bucket="b")
    assert isinstance(blob_store_from_config(s3), S3BlobStore)
