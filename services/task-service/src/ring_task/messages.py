"""The conversation of an order's two parties: a small aggregate saved by the ``Tasks`` app.

One :class:`Conversation` per order, its id derived from the order's (``uuid5``), so the first
two messages of an order racing to create it conflict in the event store and the loser retries.
Its events are private (absent from the relay's mapping): messages are never published.
Only the task owner and the order's provider may read or write (``NotOrderParty`` → 403,
unknown order → 404), as the order itself decides.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import msgspec
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from ring_contracts.tasks import MessageRequest
from ring_runtime.concurrency import retrying
from ring_runtime.http import Cursor, Limit, allow
from ring_runtime.identity import PARTY_A, PARTY_B
from ring_runtime.paging import page_of_history
from ring_task.application import Tasks
from ring_task.domain import Order

#: Namespace of conversation ids (``uuid5(namespace, str(order_id))``).
CONVERSATION_NAMESPACE = uuid5(NAMESPACE_URL, "https://ring.invalid/task/order-conversation")


class Message(NamedTuple):
    """One message of a conversation."""

    id: UUID
    author_id: UUID
    body: str
    at: datetime


class Conversation(Aggregate):
    """Messages between the task owner and the provider of one order, oldest first."""

    class Started(Aggregate.Created):
        order_id: UUID

    def __init__(self, order_id: UUID) -> None:
        self.order_id = order_id
        self.messages: list[Message] = []

    @classmethod
    def create_id(cls, order_id: UUID) -> UUID:
        """The conversation id of ``order_id``."""
        return uuid5(CONVERSATION_NAMESPACE, str(order_id))

    class MessagePosted(Aggregate.Event):
        message_id: UUID
        author_id: UUID
        body: str
        at: datetime

        def apply(self, aggregate: Conversation) -> None:
            aggregate.messages.append(Message(self.message_id, self.author_id, self.body, self.at))

    def post(self, message_id: UUID, author_id: UUID, body: str, at: datetime) -> None:
        """Append a message."""
        self.trigger_event(
            self.MessagePosted, message_id=message_id, author_id=author_id, body=body, at=at
        )


def conversation_id(order_id: UUID) -> UUID:
    """The id of ``order_id``'s conversation."""
    return Conversation.create_id(order_id)


class OrderMessages:
    """Commands and reads of order conversations on the ``Tasks`` application's store."""

    def __init__(self, tasks: Tasks) -> None:
        self.tasks = tasks

    def post(
        self, order_id: UUID, actor_id: UUID, body: str, now: datetime | None = None
    ) -> tuple[Order, Message]:
        """``actor_id`` (a party of the order) adds ``body`` to the order's conversation;
        returns the order and the new message (what the answer shows, without a second load).

        Raises:
            OrderNotFound: no such order.
            NotOrderParty: the actor is neither the task owner nor the provider.
            ConcurrentUpdate: too many concurrent writers; retry.
        """
        order = self.tasks.get_order_for(order_id, actor_id)
        at = now or datetime.now(UTC)
        message_id = uuid4()

        def act() -> Message:
            conversation = self._load(order_id) or Conversation(order_id=order_id)
            conversation.post(message_id=message_id, author_id=actor_id, body=body, at=at)
            self.tasks.save(conversation)
            return conversation.messages[-1]

        return order, retrying(act)

    def list(self, order_id: UUID, actor_id: UUID) -> tuple[Order, list[Message]]:
        """The order and its messages, oldest first, for one of its parties."""
        order = self.tasks.get_order_for(order_id, actor_id)
        conversation = self._load(order_id)
        return order, list(conversation.messages) if conversation else []

    def _load(self, order_id: UUID) -> Conversation | None:
        try:
            found: Any = self.tasks.repository.get(conversation_id(order_id))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, Conversation) else None


# -- HTTP ------------------------------------------------------------------------------------


class MessageView(msgspec.Struct, frozen=True, kw_only=True):
    """One message; ``role`` is ``owner`` (Party A) or ``provider`` (Party B)."""

    id: UUID
    order_id: UUID
    author_id: UUID
    role: str
    body: str
    at: datetime


class MessagePage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the conversation and the cursor of the next page (``None`` on the last)."""

    items: list[MessageView]
    next_cursor: str | None


def _view(order: Order, message: Message) -> MessageView:
    return MessageView(
        id=message.id,
        order_id=order.id,
        author_id=message.author_id,
        role="owner" if message.author_id == order.owner_id else "provider",
        body=message.body,
        at=message.at,
    )


class OrderMessageController(Controller):
    """``POST`` / ``GET /orders/{id}/messages``: the parties' conversation."""

    path = "/orders"
    tags = ["orders"]

    @post(
        "/{order_id:uuid}/messages",
        status_code=HTTP_201_CREATED,
        operation_id="PostMessage",
        guards=[allow(PARTY_A, PARTY_B)],
    )
    async def post_message(
        self,
        actor: NamedDependency[UUID],
        order_id: FromPath[UUID],
        data: JSONBody[MessageRequest],
        messages: NamedDependency[OrderMessages],
    ) -> MessageView:
        """A party of the order writes to the other."""
        if not data.body.strip():
            raise ValidationException("a message needs a non-blank `body`")
        return _view(*await asyncio.to_thread(messages.post, order_id, actor, data.body))

    @get("/{order_id:uuid}/messages", operation_id="ListMessages")
    async def list_messages(
        self,
        actor: NamedDependency[UUID],
        order_id: FromPath[UUID],
        messages: NamedDependency[OrderMessages],
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> MessagePage:
        """The conversation, oldest first (the order's parties only), a page at a time."""
        order, found = await asyncio.to_thread(messages.list, order_id, actor)
        page, following = page_of_history(found, scope=str(order_id), cursor=cursor, limit=limit)
        return MessagePage(items=[_view(order, m) for m in page], next_cursor=following)
