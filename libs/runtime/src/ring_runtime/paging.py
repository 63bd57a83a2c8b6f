"""Opaque cursors for keyset paging of read models.

A cursor carries the sort key of the last row of a page (and whatever else must match, such as
the sort it was issued for) as URL-safe base64 text. Clients treat it as opaque.
"""

from __future__ import annotations

import base64
import binascii


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
