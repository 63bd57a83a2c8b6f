"""Fingerprint index: which vouchers of which orders used a file (SHA-256) or a look-alike
image (64-bit dHash), for fake-voucher detection.

Flags (shown to Party A and operators, never a rejection by themselves):

* ``duplicate_content``: a file's SHA-256 was used in a voucher of *another* order;
* ``similar_image``: an image is within :data:`SIMILARITY_THRESHOLD` bits (Hamming distance of
  the dHash) of an image of another order's voucher whose bytes differ, e.g. a resized or
  re-encoded copy.

``duplicate_of`` lists the earlier vouchers behind either flag. Files reused on the *same*
order (a resubmission after a rejection) are not flagged.

The tables are a local read model written from the service's own events (see
:mod:`ring_runtime.local_projection`), so they are rebuilt exactly from the event store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

import psycopg
from psycopg.sql import SQL, Composed

from ring_runtime.projection import ProjectionStore
from ring_voucher.domain import VoucherFile

#: Images whose dHashes differ in at most this many of 64 bits count as the same picture.
#: Resizing or re-encoding typically changes 0-6 bits; unrelated photos differ in ~32.
SIMILARITY_THRESHOLD = 10


@dataclass
class Matches:
    """Earlier vouchers of other orders sharing content with a new voucher."""

    same_content: set[UUID] = field(default_factory=set)
    similar_images: set[UUID] = field(default_factory=set)

    @property
    def flags(self) -> list[str]:
        """The flags these matches raise."""
        flags = []
        if self.same_content:
            flags.append("duplicate_content")
        if self.similar_images:
            flags.append("similar_image")
        return flags

    @property
    def duplicate_of(self) -> list[UUID]:
        """Every matched voucher, once."""
        return sorted(self.same_content | self.similar_images, key=str)


class FingerprintIndex:
    """The ``voucher_file_hashes`` and ``voucher_image_hashes`` tables."""

    def __init__(self, store: ProjectionStore) -> None:
        self.store = store
        self.files = store.table("voucher_file_hashes")
        self.images = store.table("voucher_image_hashes")

    def ddl(self) -> list[Composed]:
        """Statements creating both tables."""
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (sha256 text NOT NULL, voucher_id uuid NOT NULL, "
                "order_id uuid NOT NULL, PRIMARY KEY (sha256, voucher_id))"
            ).format(self.files),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (voucher_id uuid NOT NULL, sha256 text NOT NULL, "
                "order_id uuid NOT NULL, phash bigint NOT NULL, PRIMARY KEY (voucher_id, sha256))"
            ).format(self.images),
        ]

    def record(
        self,
        conn: psycopg.Connection[dict[str, object]],
        voucher_id: UUID,
        order_id: UUID,
        files: Sequence[VoucherFile],
    ) -> None:
        """Index the files of a submitted voucher (inside the caller's transaction)."""
        for file in files:
            conn.execute(
                SQL("INSERT INTO {} VALUES (%s, %s, %s) ON CONFLICT DO NOTHING").format(self.files),
                (file.sha256, voucher_id, order_id),
            )
            if file.phash is not None:
                conn.execute(
                    SQL("INSERT INTO {} VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING").format(
                        self.images
                    ),
                    (voucher_id, file.sha256, order_id, _signed(file.phash)),
                )

    def matches(self, order_id: UUID, files: Sequence[VoucherFile]) -> Matches:
        """Vouchers of other orders with the same files or look-alike images."""
        found = Matches()
        digests = [f.sha256 for f in files]
        with self.store.reading() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT DISTINCT voucher_id FROM {} WHERE sha256 = ANY(%s) AND order_id <> %s"
                ).format(self.files),
                (digests, order_id),
            ).fetchall()
            found.same_content = {row["voucher_id"] for row in rows}
            for file in files:
                if file.phash is None:
                    continue
                rows = conn.execute(
                    SQL(
                        "SELECT DISTINCT voucher_id FROM {} WHERE order_id <> %s "
                        "AND sha256 <> ALL(%s) AND bit_count((phash # %s)::bit(64)) <= %s"
                    ).format(self.images),
                    (order_id, digests, _signed(file.phash), SIMILARITY_THRESHOLD),
                ).fetchall()
                found.similar_images |= {row["voucher_id"] for row in rows}
        return found


def _signed(phash: int) -> int:
    """The unsigned 64-bit hash as PostgreSQL's signed ``bigint`` (same bits)."""
    return phash - (1 << 64) if phash >= 1 << 63 else phash
