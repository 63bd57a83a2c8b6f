"""Upload inspection: type by magic bytes, size limit, perceptual hash of images."""

from __future__ import annotations

import pytest

from ring_voucher.files import (
    FileTooLarge,
    UnsupportedFileType,
    difference_hash,
    hamming_distance,
    inspect_upload,
    sniff,
)
from ring_voucher.fingerprints import SIMILARITY_THRESHOLD

from .conftest import picture, resized

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0....", "image/jpeg"),
        (b"GIF89a....", "image/gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"PK\x03\x04....", "application/zip"),
        (ELF, None),
        (b"MZ\x90\x00", None),
        (b"#!/bin/sh\nrm -rf /\n", None),
        (b"hello, plain text", None),
        (b"", None),
    ],
)
def test_types_are_sniffed_from_the_bytes(data: bytes, content_type: str | None) -> None:
    assert sniff(data) == content_type


def test_an_executable_is_refused_whatever_its_name() -> None:
    with pytest.raises(UnsupportedFileType):
        inspect_upload(ELF, max_bytes=10_000)


def test_a_file_over_the_limit_is_refused() -> None:
    with pytest.raises(FileTooLarge):
        inspect_upload(b"%PDF-" + b"x" * 100, max_bytes=100)


def test_a_corrupt_image_is_refused() -> None:
    with pytest.raises(UnsupportedFileType):
        inspect_upload(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, max_bytes=10_000)


def test_inspection_fingerprints_an_image() -> None:
    data = picture(1)
    inspected = inspect_upload(data, max_bytes=len(data))
    assert inspected.content_type == "image/png"
    assert inspected.size == len(data)
    assert len(inspected.sha256) == 64
    assert inspected.phash == difference_hash(data)


def test_a_resized_reencoded_copy_is_within_the_threshold() -> None:
    original = picture(7)
    for scale in (0.5, 0.75, 1.5):
        copy = resized(original, scale)
        distance = hamming_distance(difference_hash(original), difference_hash(copy))
        assert distance <= SIMILARITY_THRESHOLD, (scale, distance)


def test_different_pictures_are_far_apart() -> None:
    hashes = [difference_hash(picture(seed)) for seed in range(10)]
    for i, a in enumerate(hashes):
        for b in hashes[i + 1 :]:
            assert hamming_distance(a, b) > SIMILARITY_THRESHOLD
