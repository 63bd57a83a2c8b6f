"""Uploads through the API on real PostgreSQL: flags for reused files and look-alike images,
refusal of disguised executables and oversize files with nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient

from ring_runtime.identity import ADMIN, PARTY_B
from ring_runtime.settings import Settings
from ring_runtime.timers import ManualClock
from ring_voucher.config import VoucherConfig
from ring_voucher.main import create_app

from .conftest import (
    MAX_FILE_BYTES,
    actor,
    count_rows,
    picture,
    resized_jpeg,
    seed_order,
    stored_blobs,
)

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]

ELF = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00" + b"\x00" * 512


@pytest.fixture
async def client(
    voucher_settings: Settings, config: VoucherConfig, clock: ManualClock
) -> AsyncIterator[Client]:
    async with AsyncTestClient(create_app(voucher_settings, config=config, clock=clock)) as c:
        yield c


async def _submit(
    client: Client, order_id: UUID, provider: UUID, *files: tuple[str, bytes, str]
) -> Response:
    return await client.post(
        f"/orders/{order_id}/vouchers",
        files=[("files", f) for f in files],
        data={"note": "work done"},
        headers=actor(provider, PARTY_B),
    )


async def test_the_same_file_on_two_orders_is_flagged(
    client: Client, voucher_settings: Settings
) -> None:
    owner, provider = uuid4(), uuid4()
    proof = picture(11)
    first = await _submit(
        client,
        seed_order(voucher_settings, owner, provider),
        provider,
        ("a.png", proof, "image/png"),
    )
    assert first.status_code == 201, first.text
    other_provider = uuid4()
    second_order = seed_order(voucher_settings, owner, other_provider)
    second = await _submit(client, second_order, other_provider, ("b.png", proof, "image/png"))
    assert second.status_code == 201, second.text
    assert second.json()["sha256"] == first.json()["sha256"]

    view = await client.get(f"/vouchers/{second.json()['id']}", headers=actor(owner))
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["flags"] == ["duplicate_content"]
    assert body["duplicate_of"] == [first.json()["id"]]
    assert body["files"][0]["content_type"] == "image/png"
    clean = await client.get(f"/vouchers/{first.json()['id']}", headers=actor(owner))
    assert clean.json()["flags"] == []


async def test_a_resized_copy_of_an_image_is_flagged(
    client: Client, voucher_settings: Settings
) -> None:
    owner = uuid4()
    original = picture(21, size=(640, 480))
    copy = resized_jpeg(original, (320, 240))
    first_provider, second_provider = uuid4(), uuid4()
    first = await _submit(
        client,
        seed_order(voucher_settings, owner, first_provider),
        first_provider,
        ("photo.png", original, "image/png"),
    )
    second = await _submit(
        client,
        seed_order(voucher_settings, owner, second_provider),
        second_provider,
        ("photo-small.jpg", copy, "image/jpeg"),
    )
    assert first.status_code == second.status_code == 201, second.text
    body = (await client.get(f"/vouchers/{second.json()['id']}", headers=actor(owner))).json()
    assert body["flags"] == ["similar_image"]
    assert body["duplicate_of"] == [first.json()["id"]]
    assert body["files"][0]["content_type"] == "image/jpeg"


async def test_a_renamed_executable_is_refused(
    client: Client, voucher_settings: Settings, blob_dir: Path
) -> None:
    provider = uuid4()
    order_id = seed_order(voucher_settings, uuid4(), provider)
    response = await _submit(client, order_id, provider, ("holiday.png", ELF, "image/png"))
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_file_type"
    assert stored_blobs(blob_dir) == []
    assert count_rows(voucher_settings, "vouchers_events") == 0


async def test_an_oversize_upload_is_refused_and_nothing_is_stored(
    client: Client, voucher_settings: Settings, blob_dir: Path
) -> None:
    provider = uuid4()
    order_id = seed_order(voucher_settings, uuid4(), provider)
    small = picture(3)
    big = b"%PDF-1.7\n" + b"0" * MAX_FILE_BYTES
    response = await _submit(
        client,
        order_id,
        provider,
        ("ok.png", small, "image/png"),
        ("big.pdf", big, "application/pdf"),
    )
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "file_too_large"
    assert str(MAX_FILE_BYTES) in error["message"]
    assert stored_blobs(blob_dir) == []
    assert count_rows(voucher_settings, "vouchers_events") == 0
    assert count_rows(voucher_settings, "voucher_file_hashes") == 0
    assert count_rows(voucher_settings, "timers") == 0


async def test_strangers_and_too_many_files_are_refused(
    client: Client, voucher_settings: Settings
) -> None:
    owner, provider = uuid4(), uuid4()
    order_id = seed_order(voucher_settings, owner, provider)
    pdf = ("r.pdf", b"%PDF-1.7 report", "application/pdf")
    stranger = await _submit(client, order_id, uuid4(), pdf)
    assert stranger.status_code == 403
    assert stranger.json()["error"]["code"] == "not_order_provider"
    too_many = await _submit(client, order_id, provider, pdf, pdf, pdf, pdf)
    assert too_many.status_code == 422
    assert too_many.json()["error"]["code"] == "too_many_files"
    created = await _submit(client, order_id, provider, pdf)
    voucher_id = created.json()["id"]
    assert (await client.get(f"/vouchers/{voucher_id}", headers=actor(uuid4()))).status_code == 403
    by_provider = await client.post(
        f"/vouchers/{voucher_id}/approve", headers=actor(provider, PARTY_B)
    )
    assert by_provider.status_code == 403
    rejected = await client.post(
        f"/vouchers/{voucher_id}/reject", json={"reason": "unreadable"}, headers=actor(owner)
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    listing = await client.get(f"/orders/{order_id}/vouchers", headers=actor(provider, PARTY_B))
    assert listing.json() == {"items": [listing.json()["items"][0]], "next_cursor": None}
    assert listing.json()["items"][0]["status"] == "rejected"
    outsider = await client.get(f"/orders/{order_id}/vouchers", headers=actor(uuid4()))
    assert outsider.status_code == 403


async def test_an_orders_vouchers_page_oldest_first(
    client: Client, voucher_settings: Settings
) -> None:
    owner, provider = uuid4(), uuid4()
    order_id = seed_order(voucher_settings, owner, provider)
    handed_in = []
    for attempt in range(3):
        pdf = ("r.pdf", b"%PDF-1.7 report " + bytes([attempt]), "application/pdf")
        created = await _submit(client, order_id, provider, pdf)
        assert created.status_code == 201, created.text
        handed_in.append(created.json()["id"])
        if attempt < 2:
            rejected = await client.post(
                f"/vouchers/{handed_in[-1]}/reject", json={"reason": "blurry"}, headers=actor(owner)
            )
            assert rejected.status_code == 200, rejected.text

    path = f"/orders/{order_id}/vouchers"
    first = (await client.get(path, params={"limit": 2}, headers=actor(owner))).json()
    assert [v["id"] for v in first["items"]] == handed_in[:2]
    rest = await client.get(
        path, params={"limit": 2, "cursor": first["next_cursor"]}, headers=actor(owner)
    )
    assert [(v["id"], v["status"]) for v in rest.json()["items"]] == [(handed_in[2], "submitted")]
    assert rest.json()["next_cursor"] is None
    other_order = seed_order(voucher_settings, owner, provider)
    foreign = await client.get(
        f"/orders/{other_order}/vouchers",
        params={"cursor": first["next_cursor"]},
        headers=actor(owner),
    )
    assert foreign.status_code == 400, foreign.text
    assert foreign.json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "no_files"),
        # A form without files is sent url-encoded: not a multipart upload at all.
        ({"data": {"note": "no files"}}, 415, "unsupported_media_type"),
        (
            {"files": [("other", ("r.pdf", b"%PDF-1.7 report", "application/pdf"))]},
            422,
            "no_files",
        ),
    ],
)
async def test_an_upload_without_files_is_refused_not_a_500(
    client: Client, voucher_settings: Settings, body: dict[str, object], status: int, code: str
) -> None:
    """Found by schemathesis: without a ``files`` part the form lookup raised KeyError (500)."""
    owner, provider = uuid4(), uuid4()
    order_id = seed_order(voucher_settings, owner, provider)
    answer = await client.post(
        f"/orders/{order_id}/vouchers",
        headers=actor(provider, PARTY_B),
        **body,  # type: ignore[arg-type]
    )
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert count_rows(voucher_settings, "vouchers_events") == 0


async def test_the_owner_downloads_the_proof_strangers_cannot(
    client: Client, voucher_settings: Settings
) -> None:
    owner, provider = uuid4(), uuid4()
    order_id = seed_order(voucher_settings, owner, provider)
    proof = picture(21)
    # The client's claimed type is ignored: the download is typed by the sniffed content.
    created = await _submit(client, order_id, provider, ("proof.bin", proof, "text/html"))
    assert created.status_code == 201, created.text
    voucher_id, (sha256,) = created.json()["id"], created.json()["sha256"]

    for party in (owner, provider):
        download = await client.get(f"/vouchers/{voucher_id}/files/{sha256}", headers=actor(party))
        assert download.status_code == 200, download.text
        assert download.content == proof
        assert download.headers["content-type"] == "image/png"
        assert download.headers["x-content-type-options"] == "nosniff"
        assert download.headers["content-disposition"].startswith("attachment")
    stranger = await client.get(f"/vouchers/{voucher_id}/files/{sha256}", headers=actor(uuid4()))
    assert stranger.status_code == 403
    other = "0" * 64
    missing = await client.get(f"/vouchers/{voucher_id}/files/{other}", headers=actor(owner))
    assert (missing.status_code, missing.json()["error"]["code"]) == (
        404,
        "voucher_file_not_found",
    )

    as_admin = await client.get(f"/admin/vouchers/{voucher_id}", headers=actor(uuid4(), ADMIN))
    assert (as_admin.status_code, as_admin.json()["id"]) == (200, voucher_id)
    admin_download = await client.get(
        f"/admin/vouchers/{voucher_id}/files/{sha256}", headers=actor(uuid4(), ADMIN)
    )
    assert admin_download.content == proof
    unknown = await client.get(f"/admin/vouchers/{uuid4()}", headers=actor(uuid4(), ADMIN))
    assert unknown.status_code == 404
