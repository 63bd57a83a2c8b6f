"""Fifty providers race for three slots: exactly three win, the rest hear NoSlotsLeft."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from ring_task.application import Tasks
from ring_task.domain import NoSlotsLeft, OrderStatus


def test_exactly_as_many_winners_as_slots(
    app: Tasks, published: Callable[..., UUID], now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = published(slots=3)
    read, save = app.repository.get, app.save
    conflicts: list[IntegrityError] = []

    def slow_read(*args: Any, **kwargs: Any) -> Any:
        """Pause after each read so racing threads really read the same task version."""
        aggregate = read(*args, **kwargs)
        time.sleep(0.001)
        return aggregate

    def counted_save(*args: Any, **kwargs: Any) -> Any:
        try:
            return save(*args, **kwargs)
        except IntegrityError as error:
            conflicts.append(error)
            raise

    monkeypatch.setattr(app.repository, "get", slow_read)
    monkeypatch.setattr(app, "save", counted_save)
    start = threading.Barrier(50)
    won: list[UUID] = []
    refused: list[NoSlotsLeft] = []
    failed: list[BaseException] = []

    def take() -> None:
        start.wait()
        try:
            won.append(app.take_order(task_id, uuid4(), now=now).id)
        except NoSlotsLeft as error:
            refused.append(error)
        except BaseException as error:  # any other outcome fails the test below
            failed.append(error)

    threads = [threading.Thread(target=take) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failed == []
    assert conflicts, "the race never produced a conflict, so the retry loop went untested"
    assert (len(won), len(refused)) == (3, 47)
    task = app.get_task(task_id)
    assert task.slots_left == 0
    assert sorted(task.open_orders) == sorted(won)
    assert all(app.get_order(order_id).status is OrderStatus.ACCEPTED for order_id in won)
