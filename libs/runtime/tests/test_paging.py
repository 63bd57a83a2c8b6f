"""Paging cursors: round trips, and refusal of cursors made elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from ring_runtime.paging import (
    InvalidCursor,
    decode_position,
    encode_cursor,
    encode_position,
    page_of_history,
)


def test_a_position_survives_the_round_trip() -> None:
    at, row_id = datetime(2026, 11, 27, 8, 30, 1, 123456, tzinfo=UTC), uuid4()
    assert decode_position(encode_position(at, row_id)) == (at, row_id)


@pytest.mark.parametrize(
    "cursor",
    ["", "%%%", encode_cursor("yesterday", str(uuid4())), encode_cursor("2026-11-27", "x")],
)
def test_a_position_refuses_what_it_did_not_make(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_position(cursor)


def test_a_history_is_walked_page_by_page_without_gaps() -> None:
    history = list(range(7))
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page, cursor = page_of_history(history, scope="order-1", cursor=cursor, limit=3)
        seen += page
        pages += 1
        if cursor is None:
            break
    assert (seen, pages) == (history, 3)
    assert page_of_history(history, scope="order-1", cursor=None, limit=7) == (history, None)
    assert page_of_history([], scope="order-1", cursor=None, limit=3) == ([], None)


def test_a_history_cursor_belongs_to_its_scope() -> None:
    _, cursor = page_of_history([1, 2, 3], scope="order-1", cursor=None, limit=1)
    assert cursor is not None
    with pytest.raises(InvalidCursor):
        page_of_history([1, 2, 3], scope="order-2", cursor=cursor, limit=1)
    for forged in (encode_cursor("order-1", "-1"), encode_cursor("order-1", "one"), "garbage"):
        with pytest.raises(InvalidCursor):
            page_of_history([1, 2, 3], scope="order-1", cursor=forged, limit=1)
