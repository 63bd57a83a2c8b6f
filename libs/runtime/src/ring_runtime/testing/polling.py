"""Waiting for eventually consistent state in tests: poll a condition, never sleep blindly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, within: float = 30.0, every: float = 0.1
) -> T:
    """Poll ``check`` until it returns a truthy value and return it.

    Fails the test after ``within`` seconds, showing the last value seen. A check that answers
    ``None`` for "not yet" gives back its value without the ``None`` (typed ``T``, not
    ``T | None``), so the caller indexes it without a check of its own.
    """
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(every)
    pytest.fail(f"condition not met within {within} s (last value: {last!r})")


def wait_until(
    check: Callable[[], T | None],
    *,
    within: float = 60.0,
    every: float = 0.2,
    what: str | Callable[[], str] = "condition",
) -> T:
    """Blocking twin of :func:`eventually`, for tests that drive OS processes over HTTP.

    Polls ``check`` until it returns a truthy value and returns it; fails the test after
    ``within`` seconds naming ``what`` (a callable is asked only then, e.g. for a log tail).
    """
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    detail = what() if callable(what) else what
    pytest.fail(f"{detail} not reached within {within} s (last value: {last!r})")
