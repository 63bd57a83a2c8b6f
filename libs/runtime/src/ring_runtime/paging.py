"""Opaque cursors for keyset paging of read models.

A cursor carries the sort key of the last row of a page (and whatever else must match, such as
the sort it was issued for) as URL-safe base64 text. Clients treat it as opaque.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar
from uuid import UUID

T = TypeVar("T")


class InvalidCursor(ValueError):
    """The paging cursor was not issued by this listing (or for another sort)."""

    code = "invalid_cursor"


def encode_cursor(*parts: str) -> str:
    """An opaque cursor holding ``parts`` (none may contain ``|``)."""
    if any("|" in part for part in parts):
        raise ValueError("cursor parts must not contain '|'")
    raw = "|".join(parts).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> list[str]:
    """The ``parts`` values of a cursor made by :func:`encode_cursor`.

    Raises:
        InvalidCursor: the text is not such a cursor.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor(f"cursor {cursor!r} is not valid; start again without it") from None
    values = raw.split("|")
    if len(values) != parts:
        raise InvalidCursor(f"cursor {cursor!r} is not valid; start again without it")
    return values


def encode_position(at: datetime, row_id: UUID) -> str:
    """A cursor for keyset paging on ``(timestamp, id)``: the last row of the page."""
    return encode_cursor(at.isoformat(), str(row_id))


def decode_position(cursor: str) -> tuple[datetime, UUID]:
    """The ``(timestamp, id)`` of a cursor made by :func:`encode_position`.

    Raises:
        InvalidCursor: the text is not such a cursor.
    """
    at, row_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(at), UUID(row_id)
    except ValueError:
        raise InvalidCursor(f"cursor {cursor!r} is not valid; start again without it") from None


def page_of_history(
    items: Sequence[T], *, scope: str, cursor: str | None, limit: int
) -> tuple[list[T], str | None]:
    """One page of an append-only history (oldest first) and the cursor of the next page.

    The cursor holds the offset of the next item and ``scope`` (the history's owner, such as an
    order id), so a cursor of one history is refused by another. Offsets are stable because a
    history only grows at its end.

    Raises:
        InvalidCursor: ``cursor`` was not issued for this ``scope``.
    """
    start = 0
    if cursor:
        issued_for, offset = decode_cursor(cursor, 2)
        if issued_for != scope or not offset.isdigit():
            raise InvalidCursor(f"cursor {cursor!r} is not valid here; start again without it")
        start = int(offset)
    end = start + limit
    following = encode_cursor(scope, str(end)) if end < len(items) else None
    return list(items[start:end]), following
