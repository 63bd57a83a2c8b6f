"""What an uploaded file is: its SHA-256, its size, its type sniffed from the bytes, and for
images a perceptual hash. The client's file name and declared type are never trusted.

Allowed types (by magic bytes): PNG, JPEG, GIF, WebP images, PDF documents and ZIP archives.
Plain text is *not* allowed: it has no signature, so a script or an executable renamed to
``.txt`` could not be told apart; the voucher's ``note`` carries text.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image

#: Sniffed content type → magic bytes at offset 0 (WebP is checked separately).
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
    "application/zip": (b"PK\x03\x04", b"PK\x05\x06"),
}
#: Content types that get a perceptual hash.
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
#: Every content type a voucher file may have.
ALLOWED_TYPES = frozenset({*SIGNATURES, "image/webp"})
#: Images larger than this many pixels are refused (decompression bombs).
MAX_IMAGE_PIXELS = 50_000_000


@dataclass(frozen=True)
class InspectedFile:
    """An accepted upload: content address, size, sniffed type, perceptual hash (images)."""

    data: bytes
    sha256: str
    size: int
    content_type: str
    phash: int | None


def sniff(data: bytes) -> str | None:
    """The content type the bytes start with, or ``None`` when it is not an allowed one."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for content_type, magics in SIGNATURES.items():
        if any(data.startswith(magic) for magic in magics):
            return content_type
    return None


def inspect_upload(data: bytes, max_bytes: int) -> InspectedFile:
    """Check one upload against the limits and the allowlist and fingerprint it.

    Raises:
        FileTooLarge: more than ``max_bytes`` bytes.
        UnsupportedFileType: the bytes are not an allowed type, or an image does not decode.
    """
    if len(data) > max_bytes:
        raise FileTooLarge(f"a file is larger than the limit of {max_bytes} bytes")
    content_type = sniff(data)
    if content_type is None:
        allowed = ", ".join(sorted(ALLOWED_TYPES))
        raise UnsupportedFileType(f"file content is not one of the allowed types ({allowed})")
    phash = difference_hash(data) if content_type in IMAGE_TYPES else None
    return InspectedFile(
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        content_type=content_type,
        phash=phash,
    )


def difference_hash(data: bytes) -> int:
    """64-bit dHash of an image: grey, shrunk to 9x8, one bit per left/right brightness step.

    Re-encoding, resizing and mild colour changes keep most bits; see
    :data:`ring_voucher.fingerprints.SIMILARITY_THRESHOLD` for the distance that counts.

    Raises:
        UnsupportedFileType: the image cannot be decoded or is too large.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    raise UnsupportedFileType("the image has too many pixels")
                small = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
                pixels = list(small.tobytes())
    except (OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnsupportedFileType("the image cannot be decoded") from None
    bits = 0
    for row in range(8):
        for col in range(8):
            left, right = pixels[row * 9 + col], pixels[row * 9 + col + 1]
            bits = (bits << 1) | (1 if left > right else 0)
    return bits


def hamming_distance(a: int, b: int) -> int:
    """How many bits of two 64-bit hashes differ."""
    return (a ^ b).bit_count()


class UploadRefused(Exception):
    """Base of the reasons an upload is refused; each has a stable ``code``."""

    code = "upload_refused"


class FileTooLarge(UploadRefused):
    code = "file_too_large"


class UnsupportedFileType(UploadRefused):
    code = "unsupported_file_type"
