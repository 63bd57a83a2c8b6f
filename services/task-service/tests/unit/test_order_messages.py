"""Order conversations on the in-memory store: parties only, oldest first, never published."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pytest

from ring_runtime.audit import read_trail
from ring_task.application import Tasks
from ring_task.domain import NotOrderParty, OrderNotFound
from ring_task.integration import DOMAIN_TO_PUBLIC
from ring_task.messages import Conversation, OrderMessages, conversation_id


def test_parties_write_and_read_in_order(
    app: Tasks, owner: UUID, provider: UUID, published: Callable[..., UUID], now: datetime
) -> None:
    order_id = app.take_order(published(), provider, now=now).id
    messages = OrderMessages(app)
    assert messages.list(order_id, owner)[1] == []
    messages.post(order_id, owner, "Boxes or polygons?", now=now)
    _, reply = messages.post(order_id, provider, "Boxes.", now=now + timedelta(minutes=1))
    assert reply.author_id == provider
    order, thread = messages.list(order_id, provider)
    assert order.id == order_id
    assert [(m.author_id, m.body) for m in thread] == [
        (owner, "Boxes or polygons?"),
        (provider, "Boxes."),
    ]
    conversation: object = app.repository.get(conversation_id(order_id))
    assert isinstance(conversation, Conversation)
    assert conversation.order_id == order_id


def test_strangers_and_unknown_orders_are_refused(
    app: Tasks, provider: UUID, published: Callable[..., UUID], now: datetime
) -> None:
    order_id = app.take_order(published(), provider, now=now).id
    messages = OrderMessages(app)
    with pytest.raises(NotOrderParty):
        messages.post(order_id, uuid4(), "hello", now=now)
    with pytest.raises(NotOrderParty):
        messages.list(order_id, uuid4())
    with pytest.raises(OrderNotFound):
        messages.post(uuid4(), provider, "hello", now=now)


def test_messages_are_private_and_audited(
    app: Tasks, provider: UUID, published: Callable[..., UUID], now: datetime
) -> None:
    for private in (Conversation.Started, Conversation.MessagePosted):
        assert private not in DOMAIN_TO_PUBLIC
    order_id = app.take_order(published(), provider, now=now).id
    OrderMessages(app).post(order_id, provider, "done soon", now=now)
    trail = read_trail(app, "task", conversation_id(order_id))
    assert [(e.name, e.version) for e in trail.events] == [
        ("Conversation.Started", 1),
        ("Conversation.MessagePosted", 2),
    ]
    assert trail.events[1].state["body"] == "done soon"
    assert trail.events[1].state["author_id"] == str(provider)
    assert read_trail(app, "task", uuid4()).events == []
