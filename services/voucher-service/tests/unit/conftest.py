"""Fixtures for voucher-service unit tests: the application on the in-memory store, with fakes
for the order directory, the fingerprint index and the blob store."""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from PIL import Image, ImageDraw

from ring_runtime.timers import ManualClock
from ring_voucher.application import Vouchers
from ring_voucher.config import VoucherConfig
from ring_voucher.domain import VoucherFile
from ring_voucher.fingerprints import Matches
from ring_voucher.projections import OrderView

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def picture(seed: int, size: tuple[int, int] = (320, 240), fmt: str = "PNG") -> bytes:
    """A picture of random coloured rectangles, the same for the same seed."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        x1, y1 = x0 + rng.randrange(20, 160), y0 + rng.randrange(20, 120)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle((x0, y0, x1, y1), fill=colour)
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def resized(data: bytes, scale: float, fmt: str = "JPEG") -> bytes:
    """``data`` decoded, scaled by ``scale`` and re-encoded as ``fmt``."""
    with Image.open(io.BytesIO(data)) as image:
        size = (int(image.width * scale), int(image.height * scale))
        out = io.BytesIO()
        image.convert("RGB").resize(size).save(out, format=fmt, quality=85)
    return out.getvalue()


class FakeOrders:
    """An order directory held in a dict."""

    def __init__(self) -> None:
        self.orders: dict[UUID, OrderView] = {}

    def add(self, owner: UUID, provider: UUID, status: str = "accepted") -> UUID:
        order_id = uuid4()
        self.orders[order_id] = OrderView(
            order_id=order_id, task_id=uuid4(), owner_id=owner, provider_id=provider, status=status
        )
        return order_id

    def get(self, order_id: UUID) -> OrderView | None:
        return self.orders.get(order_id)


@dataclass
class FakeFingerprints:
    """Fingerprints matching by SHA-256 over every voucher submitted through the app."""

    seen: list[tuple[UUID, UUID, str]] = field(default_factory=list)

    def matches(self, order_id: UUID, files: Sequence[VoucherFile]) -> Matches:
        digests = {f.sha256 for f in files}
        return Matches(same_content={v for v, o, s in self.seen if s in digests and o != order_id})


class MemoryBlobs:
    """Blobs in a dict."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, sha256: str, data: bytes, content_type: str) -> None:
        self.blobs[sha256] = data

    def get(self, sha256: str) -> bytes:
        return self.blobs[sha256]

    def exists(self, sha256: str) -> bool:
        return sha256 in self.blobs


@dataclass
class World:
    """The application under test and its collaborators."""

    app: Vouchers
    orders: FakeOrders
    fingerprints: FakeFingerprints
    blobs: MemoryBlobs
    clock: ManualClock
    owner: UUID
    provider: UUID

    def submit(self, order_id: UUID, uploads: list[bytes], note: str = "done") -> UUID:
        voucher = self.app.submit(order_id, self.provider, uploads, note)
        for f in voucher.files:
            self.fingerprints.seen.append((voucher.id, order_id, f.sha256))
        return voucher.id


@pytest.fixture
def world() -> World:
    orders, fingerprints, blobs = FakeOrders(), FakeFingerprints(), MemoryBlobs()
    clock = ManualClock(NOW)
    app = Vouchers(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        orders=orders,
        fingerprints=fingerprints,
        blobs=blobs,
        config=VoucherConfig(
            max_file_bytes=200_000, max_files=3, review_window=timedelta(hours=72)
        ),
        clock=clock,
    )
    return World(app, orders, fingerprints, blobs, clock, owner=uuid4(), provider=uuid4())
