"""Who may read a task and list a board (issue 11, item 3: drafts leaked to everyone)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID, uuid4

import pytest

from ring_task.application import Tasks
from ring_task.domain import TaskNotFound, TaskStatus, board_owner


def test_a_stranger_cannot_read_a_draft_but_its_owner_and_admins_can(
    app: Tasks, owner: UUID, draft: Callable[..., UUID]
) -> None:
    task_id = draft()
    with pytest.raises(TaskNotFound):
        app.get_task_for(task_id, uuid4())
    assert app.get_task_for(task_id, owner).status is TaskStatus.DRAFT
    assert app.get_task_for(task_id, uuid4(), admin=True).id == task_id


def test_a_published_task_is_everyone_s_and_a_holder_keeps_seeing_it(
    app: Tasks,
    owner: UUID,
    provider: UUID,
    published: Callable[..., UUID],
    now: datetime,
) -> None:
    task_id = published(slots=1)
    assert app.get_task_for(task_id, uuid4()).id == task_id
    app.take_order(task_id, provider, now=now)
    app.cancel(task_id, owner, now=now)
    assert app.get_task(task_id).status is not TaskStatus.PUBLISHED
    assert app.get_task_for(task_id, provider).id == task_id
    with pytest.raises(TaskNotFound):
        app.get_task_for(task_id, uuid4())


def test_listing_other_statuses_is_limited_to_the_caller_s_own_tasks() -> None:
    me, other = uuid4(), uuid4()
    assert board_owner("published", None, me, admin=False) is None
    assert board_owner("published", other, me, admin=False) == other
    assert board_owner("draft", None, me, admin=False) == me
    assert board_owner("completed", None, me, admin=False) == me
    assert board_owner(None, None, me, admin=False) == me  # every status at once
    assert board_owner("draft", me, me, admin=False) == me
    with pytest.raises(TaskNotFound):
        board_owner("draft", other, me, admin=False)
    assert board_owner("draft", None, me, admin=True) is None
