"""Catch up before refusing (decision 0009): the rules of Freshness, on in-memory fakes.

The owner's ``/internal/heads`` is a mock transport; the consumer's tracking is a dict. The
end-to-end behaviour on the real platform is tested in ``tests/e2e/test_no_stale_refusals.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from uuid import UUID, uuid4

import httpx
import pytest

from ring_events.topics import TASK_EVENTS
from ring_runtime.consumer import ExactlyOnceProcessor
from ring_runtime.freshness import CatchingUp, Freshness, Progress, Upstream, depends_on

from .test_consumer_rules import MemoryTarget

TASK = Upstream(consumer="voucher-orders", topic=TASK_EVENTS, owner="task")


class NotFound(Exception):
    """A refusal the service answers with 404."""


class Forbidden(Exception):
    """A refusal the service answers with 403."""


class Invalid(Exception):
    """A refusal that no projection can cause (422)."""


class Setup:
    def __init__(self, heads: dict[str, int], *, timeout: float = 1.0, owner_up: bool = True):
        self.target = MemoryTarget()
        self.progress = Progress()
        self.asked: list[list[str]] = []

        def owner(request: httpx.Request) -> httpx.Response:
            self.asked.append(request.url.params.get_list("subject"))
            if not owner_up:
                return httpx.Response(503)
            return httpx.Response(200, json={"heads": heads})

        statuses: dict[type[BaseException], int] = {NotFound: 404, Forbidden: 403, Invalid: 422}
        self.freshness = Freshness(
            progress=self.progress,
            processors=[ExactlyOnceProcessor(TASK.consumer, TASK.topic, self.target, {})],
            owners={"task": "http://task.internal"},
            timeout=timeout,
            statuses=lambda exc: statuses.get(type(exc)),
            client=httpx.AsyncClient(transport=httpx.MockTransport(owner)),
        )

    def apply(self, order_id: UUID, notification_id: int) -> None:
        """The consumer applies the order's event: position moves, waiters are woken."""
        name = TASK.tracking_name(str(order_id))
        self.target.recorded[name] = notification_id
        self.progress.advanced(name, notification_id)


def command_on(setup: Setup, order_id: UUID, needed: int, calls: list[int]) -> Callable[[], str]:
    """A command that reads the directory and refuses (404) until the order's event is in."""

    def command() -> str:
        calls.append(1)
        depends_on(TASK, order_id)
        if setup.target.position(TASK.tracking_name(str(order_id))) < needed:
            raise NotFound("order not found")
        return "accepted"

    return command


async def test_a_refusal_on_a_lagging_projection_waits_for_the_consumer_and_judges_again() -> None:
    order_id = uuid4()
    setup = Setup({str(order_id): 7})
    calls: list[int] = []
    loop = asyncio.get_running_loop()
    loop.call_later(0.1, setup.apply, order_id, 7)
    started = time.monotonic()
    result = await setup.freshness.judge(command_on(setup, order_id, 7, calls))
    assert result == "accepted"
    assert len(calls) == 2
    assert setup.asked == [[str(order_id)]]
    assert time.monotonic() - started < 1.0  # well inside the bound


async def test_a_refusal_on_a_current_projection_stands_without_a_second_run() -> None:
    order_id = uuid4()
    setup = Setup({})  # the owner has never heard of the order
    calls: list[int] = []
    with pytest.raises(NotFound):
        await setup.freshness.judge(command_on(setup, order_id, 1, calls))
    assert len(calls) == 1


async def test_a_refusal_judged_again_on_a_current_projection_stands() -> None:
    order_id = uuid4()
    setup = Setup({str(order_id): 2})
    setup.apply(order_id, 2)  # current by the time the owner answers
    calls: list[int] = []
    with pytest.raises(NotFound):
        await setup.freshness.judge(command_on(setup, order_id, 9, calls))
    assert len(calls) == 2


async def test_past_the_bound_the_answer_is_catching_up_with_retry_after() -> None:
    order_id = uuid4()
    setup = Setup({str(order_id): 3}, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(CatchingUp) as caught:
        await setup.freshness.judge(command_on(setup, order_id, 3, []))
    assert 0.3 <= time.monotonic() - started < 1.0
    assert caught.value.code == "catching_up"
    assert caught.value.retry_after >= 1


async def test_an_owner_that_cannot_answer_leaves_the_judgement_on_the_copy() -> None:
    order_id = uuid4()
    setup = Setup({}, owner_up=False)
    with pytest.raises(NotFound):
        await setup.freshness.judge(command_on(setup, order_id, 1, []))


async def test_refusals_no_projection_can_cause_are_not_second_guessed() -> None:
    setup = Setup({})

    def invalid() -> None:
        depends_on(TASK, uuid4())
        raise Invalid("bad input")

    with pytest.raises(Invalid):
        await setup.freshness.judge(invalid)
    assert setup.asked == []


async def test_a_command_reading_no_projection_is_not_retried() -> None:
    setup = Setup({})
    calls: list[int] = []

    def refused() -> None:
        calls.append(1)
        raise NotFound("nothing")

    with pytest.raises(NotFound):
        await setup.freshness.judge(refused)
    assert (calls, setup.asked) == ([1], [])


async def test_progress_wakes_only_waiters_whose_target_was_reached() -> None:
    progress = Progress()
    positions = {"a": 0}
    waiting = asyncio.ensure_future(progress.wait(lambda: positions["a"], "a", 5, within=2.0))
    await asyncio.sleep(0.01)
    positions["a"] = 4
    progress.advanced("a", 4)
    await asyncio.sleep(0.01)
    assert not waiting.done()
    positions["a"] = 5
    progress.advanced("a", 5)
    assert await asyncio.wait_for(waiting, 0.1) is True
    assert await progress.wait(lambda: positions["a"], "a", 6, within=0.05) is False


async def test_refusals_a_current_copy_gets_right_are_answered_at_once() -> None:
    order_id = uuid4()
    setup = Setup({str(order_id): 5})
    calls: list[int] = []

    def not_the_provider() -> None:
        calls.append(1)
        depends_on(TASK, order_id)
        raise Forbidden("not the order's provider")

    with pytest.raises(Forbidden):
        await setup.freshness.judge(not_the_provider, refusals=(NotFound,))
    assert (calls, setup.asked) == ([1], [])
