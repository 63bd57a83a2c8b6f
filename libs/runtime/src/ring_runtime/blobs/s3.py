"""Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph…), over the REST API with SigV4.

Objects are addressed path-style (``<endpoint>/<bucket>/<key>``) so any S3-compatible server
works without DNS per bucket; the key is ``blobs/<first two hex digits>/<sha256>``. The payload
hash SigV4 needs is the blob name itself.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import httpx

from ring_runtime.blobs.port import BlobNotFound, check_name

#: SHA-256 of the empty payload (GET and HEAD requests).
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@dataclass(frozen=True)
class S3Location:
    """Endpoint, bucket and credentials of an S3-compatible store."""

    endpoint: str
    bucket: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"


def sign_v4(
    *,
    method: str,
    url: str,
    headers: dict[str, str],
    payload_sha256: str,
    access_key: str,
    secret_key: str,
    region: str,
    at: datetime,
    service: str = "s3",
) -> dict[str, str]:
    """``headers`` plus ``x-amz-date``, ``x-amz-content-sha256`` and ``Authorization``.

    Implements AWS Signature Version 4 for a request whose path is already URI-encoded.
    """
    parts = urlsplit(url)
    amz_date = at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    signed = {k.lower(): " ".join(v.strip().split()) for k, v in headers.items()}
    signed["host"] = parts.netloc
    signed["x-amz-date"] = amz_date
    signed["x-amz-content-sha256"] = payload_sha256
    names = sorted(signed)
    canonical_query = "&".join(
        sorted(
            f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
            for k, _, v in (pair.partition("=") for pair in parts.query.split("&") if pair)
        )
    )
    canonical_request = "\n".join(
        [
            method,
            parts.path or "/",
            canonical_query,
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            payload_sha256,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secret_key}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return {
        **headers,
        "x-amz-date": amz_date,
        "x-amz-content-sha256": payload_sha256,
        "Authorization": authorization,
    }


class S3BlobStore:
    """Content-addressed objects in one bucket."""

    def __init__(
        self,
        location: S3Location,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not (location.endpoint and location.bucket):
            raise ValueError("RING_S3_ENDPOINT and RING_S3_BUCKET must be set for the S3 store")
        self.location = location
        self._client = httpx.Client(transport=transport, timeout=timeout)

    def url(self, sha256: str) -> str:
        """Path-style URL of the object holding the blob ``sha256``."""
        name = check_name(sha256)
        bucket = quote(self.location.bucket, safe="")
        return f"{self.location.endpoint.rstrip('/')}/{bucket}/blobs/{name[:2]}/{name}"

    def put(self, sha256: str, data: bytes, content_type: str) -> None:
        """Upload the blob (PUT is idempotent: the same name always holds the same bytes)."""
        response = self._send(
            "PUT", sha256, {"content-type": content_type}, payload_sha256=sha256, content=data
        )
        response.raise_for_status()

    def get(self, sha256: str) -> bytes:
        """Download the blob."""
        response = self._send("GET", sha256, {}, payload_sha256=EMPTY_SHA256)
        if response.status_code == 404:
            raise BlobNotFound(f"no blob {sha256}")
        response.raise_for_status()
        return response.content

    def exists(self, sha256: str) -> bool:
        """Whether the object exists (HEAD)."""
        response = self._send("HEAD", sha256, {}, payload_sha256=EMPTY_SHA256)
        if response.status_code == 404:
            return False
        response.raise_for_status()
        return True

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def _send(
        self,
        method: str,
        sha256: str,
        headers: dict[str, str],
        *,
        payload_sha256: str,
        content: bytes | None = None,
    ) -> httpx.Response:
        url = self.url(sha256)
        signed = sign_v4(
            method=method,
            url=url,
            headers=headers,
            payload_sha256=payload_sha256,
            access_key=self.location.access_key,
            secret_key=self.location.secret_key,
            region=self.location.region,
            at=datetime.now(UTC),
        )
        return self._client.request(method, url, headers=signed, content=content)
