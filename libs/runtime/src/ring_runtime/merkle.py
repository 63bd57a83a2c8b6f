"""The Merkle tree of an event log (RFC 6962 / RFC 9162 hashing), free of I/O.

A leaf is one stored event: ``SHA-256(0x00 || leaf_input)`` where the leaf input names the
event and the SHA-256 of its stored bytes (:func:`leaf_input`); an inner node is
``SHA-256(0x01 || left || right)``. The tree over the first *n* events is the one Certificate
Transparency defines, so the inclusion proof of any event against a signed root is a list of
log₂(n) hashes, checked by :func:`verify_inclusion` — the few lines a third party copies
(docs/audit-proofs.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from uuid import UUID


def leaf_input(
    originator_id: UUID | str, originator_version: int, topic: str, state_sha256: bytes
) -> bytes:
    """What a leaf hashes: ``"<aggregate id>\\n<version>\\n<stored topic>\\n<sha256 hex>"``.

    The notification id is left out on purpose: the event's place in the log is its place in
    the tree, so an event moved elsewhere still hashes to its own leaf and can be named.
    """
    return f"{originator_id}\n{originator_version}\n{topic}\n{state_sha256.hex()}".encode()


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class CompactRange:
    """The roots of the perfect subtrees covering the first ``size`` leaves (left to right).

    Appending a leaf and computing the root cost O(log n), so the chainer never rereads the log.
    """

    def __init__(self, size: int = 0, peaks: Sequence[bytes] = ()) -> None:
        self.size = size
        self.peaks = list(peaks)
        if len(self.peaks) != size.bit_count():
            raise ValueError(f"{len(self.peaks)} peaks cannot cover {size} leaves")

    def append(self, leaf: bytes) -> None:
        """Add the hash of the next leaf."""
        self.peaks.append(leaf)
        merged = self.size
        while merged & 1:  # each trailing 1 bit of the old size is a peak to merge with
            right = self.peaks.pop()
            left = self.peaks.pop()
            self.peaks.append(node_hash(left, right))
            merged >>= 1
        self.size += 1

    def root(self) -> bytes:
        """The tree head over the leaves appended so far (RFC 6962 ``MTH``)."""
        if not self.peaks:
            return hashlib.sha256(b"").digest()
        root = self.peaks[-1]
        for peak in reversed(self.peaks[:-1]):
            root = node_hash(peak, root)
        return root


def subtree_root(leaves: Sequence[bytes]) -> bytes:
    """``MTH`` of ``leaves`` (leaf hashes)."""
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    return compact.root()


def inclusion_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree over ``leaves`` (RFC 6962 ``PATH``)."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is not in a tree of {len(leaves)}")
    path: list[bytes] = []
    low, high = 0, len(leaves)
    siblings: list[bytes] = []
    while high - low > 1:
        split = 1 << ((high - low - 1).bit_length() - 1)  # largest power of two < size
        if index < low + split:
            siblings.append(subtree_root(leaves[low + split : high]))
            high = low + split
        else:
            siblings.append(subtree_root(leaves[low : low + split]))
            low += split
    path.extend(reversed(siblings))
    return path


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``path`` proves leaf hash ``leaf`` is at ``index`` of the tree of ``size`` with
    ``root`` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root
