"""Pacing of the loops that follow the store (decision 0009): a save wakes them, idle they rest."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from uuid import uuid4

from ring_runtime.long_poll import Changes
from ring_runtime.wakeup import Pace


def _bound() -> Changes:
    changes = Changes()
    changes.bind(asyncio.get_running_loop())
    return changes


def _save_from_a_worker_thread(changes: Changes) -> None:
    """Saves happen in worker threads (commands, consumers), not on the event loop."""
    thread = threading.Thread(target=changes.saved, args=([uuid4()],))
    thread.start()
    thread.join()


async def test_an_idle_loop_rests_until_the_backstop() -> None:
    pace = Pace(_bound(), spacing=0.01, backstop=0.4)
    pace.round_begins()
    started = time.monotonic()
    await pace.rest()
    assert 0.38 <= time.monotonic() - started < 1.0


async def test_a_save_wakes_a_resting_loop_at_once() -> None:
    changes = _bound()
    pace = Pace(changes, spacing=0.01, backstop=5.0)
    pace.round_begins()
    asyncio.get_running_loop().call_later(0.1, _save_from_a_worker_thread, changes)
    started = time.monotonic()
    await pace.rest()
    assert time.monotonic() - started < 0.5


async def test_a_save_during_a_round_is_not_missed() -> None:
    changes = _bound()
    pace = Pace(changes, spacing=0.01, backstop=5.0)
    pace.round_begins()
    _save_from_a_worker_thread(changes)  # while the round reads the store
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await pace.rest()
    assert time.monotonic() - started < 0.5


async def test_under_a_stream_of_saves_rounds_keep_their_spacing() -> None:
    changes = _bound()
    pace = Pace(changes, spacing=0.2, backstop=5.0)
    rounds: list[float] = []
    saving = True

    async def save_often() -> None:
        while saving:
            changes.saved([uuid4()])
            await asyncio.sleep(0.01)

    saver = asyncio.create_task(save_often())
    started = time.monotonic()
    while time.monotonic() - started < 1.0:
        pace.round_begins()
        rounds.append(time.monotonic())
        await pace.rest()
    saving = False
    await saver
    gaps = [b - a for a, b in itertools.pairwise(rounds)]
    assert 3 <= len(rounds) <= 7, rounds
    assert min(gaps) >= 0.19


async def test_without_changes_it_polls_every_spacing() -> None:
    pace = Pace(None, spacing=0.1, backstop=60.0)
    pace.round_begins()
    started = time.monotonic()
    await pace.rest()
    assert 0.09 <= time.monotonic() - started < 0.5


async def test_a_failed_round_waits_its_backoff_even_after_saves() -> None:
    changes = _bound()
    pace = Pace(changes, spacing=0.01, backstop=5.0)
    pace.round_begins()
    changes.saved([uuid4()])
    started = time.monotonic()
    await pace.rest(after_failure=0.3)
    assert 0.29 <= time.monotonic() - started < 1.0


async def test_stop_ends_the_rest_at_once() -> None:
    pace = Pace(_bound(), spacing=10.0, backstop=10.0)
    pace.round_begins()
    asyncio.get_running_loop().call_later(0.1, pace.stop)
    started = time.monotonic()
    await pace.rest()
    assert time.monotonic() - started < 0.5
