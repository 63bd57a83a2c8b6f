"""Long-poll reads (decision 0009): answer at once, on the awaited save, or at the timeout."""

from __future__ import annotations

import asyncio
import time
from uuid import uuid4

import msgspec
import pytest

from ring_runtime.long_poll import Changes, InvalidWaitFor, long_poll


class OrderView(msgspec.Struct):
    status: str


async def test_answers_as_soon_as_a_save_makes_the_condition_true() -> None:
    changes = Changes()
    changes.bind(asyncio.get_running_loop())
    order_id, other = uuid4(), uuid4()
    state = {"status": "approved"}
    reads: list[int] = []

    def read() -> OrderView:
        reads.append(1)
        return OrderView(status=state["status"])

    def settle() -> None:
        state["status"] = "settled"
        changes.saved([other])  # unrelated saves do not wake the waiter
        changes.saved([order_id])

    asyncio.get_running_loop().call_later(0.1, settle)
    started = time.monotonic()
    found = await long_poll(read, "status:settled", 5.0, changes, order_id)
    assert found.status == "settled"
    assert time.monotonic() - started < 0.45  # woken by the save, before the 0.5 s re-read
    assert len(reads) == 2


async def test_answers_at_once_when_already_there_and_without_wait_for() -> None:
    changes = Changes()
    read = lambda: OrderView(status="settled")  # noqa: E731
    assert (await long_poll(read, "status:settled", 5.0, changes, uuid4())).status == "settled"
    assert (await long_poll(read, None, 5.0, changes, uuid4())).status == "settled"


async def test_answers_the_current_state_at_the_timeout() -> None:
    changes = Changes()
    started = time.monotonic()
    found = await long_poll(
        lambda: OrderView(status="approved"), "status:settled", 0.3, changes, None
    )
    assert found.status == "approved"
    assert 0.3 <= time.monotonic() - started < 1.0


async def test_waiting_for_a_field_the_resource_lacks_is_refused() -> None:
    with pytest.raises(InvalidWaitFor):
        await long_poll(lambda: OrderView(status="x"), "colour:red", 1.0, Changes(), None)
