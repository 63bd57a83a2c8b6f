"""Deterministic identities: aggregate ids derived from business keys with UUID v5.

Deriving ids from keys makes every "open on demand" and every idempotency check a plain
repository lookup: the same deposit id, task id or transfer id always names the same aggregate,
and two racing creators collide on the event store's unique (id, version) instead of
producing duplicates.
"""

from __future__ import annotations

from urllib.parse import quote
from uuid import UUID, uuid5

#: Namespace of every ledger aggregate id. Never change it: ids are stored with every event.
LEDGER_NAMESPACE = UUID("6f1c2e4a-8a59-4c1e-9d0e-52a3c1b7e0a1")


def reference(*parts: str) -> str:
    """Join ``parts`` into one unambiguous reference string, e.g. ``settle:t%3A1:o1``.

    Each part is percent-quoted so a ':' inside a part can never make two references equal.
    """
    return ":".join(quote(part, safe="") for part in parts)


def derive_id(kind: str, *parts: str) -> UUID:
    """The UUID v5 of ``kind`` and ``parts`` in the ledger namespace."""
    return uuid5(LEDGER_NAMESPACE, reference(kind, *parts))
