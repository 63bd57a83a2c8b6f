"""``AsyncRing``: the asyncio client, the same methods as ``Ring`` as coroutines."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx

from ring_client import _calls
from ring_client._core import (
    DEFAULT_BASE_URL,
    Call,
    Credentials,
    Engine,
    HasStatus,
    IssuedTokens,
    Paged,
    Refresh,
    Retries,
    Retry,
    StatusWait,
)
from ring_client._openapi import Tokens
from ring_client.models import Order, Task

P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S", bound=HasStatus)


def _send(
    builder: Callable[P, Call[T]],
) -> Callable[Concatenate[AsyncRing, P], Coroutine[Any, Any, T]]:
    """A coroutine method sending ``builder``'s call and returning its decoded answer."""

    @functools.wraps(builder)
    async def method(self: AsyncRing, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.send(builder(*args, **kwargs))

    return method


def _walk(
    builder: Callable[P, Call[Paged[T]]],
) -> Callable[Concatenate[AsyncRing, P], AsyncIterator[T]]:
    """A method iterating over every entry of every page of ``builder``'s collection."""

    async def method(self: AsyncRing, /, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
        call = builder(*args, **kwargs)
        while True:
            page = await self.send(call)
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            call = call.following(page.next_cursor)

    method.__doc__ = f"Every entry of every page of ``{builder.__name__}``, fetched as needed."
    return method


class AsyncRing:
    """A client of the Ring public API for asyncio (see :class:`~ring_client.Ring`).

    Sign in with :meth:`login` (or pass tokens); the access token is refreshed before it
    expires, operations that take an ``Idempotency-Key`` get one per call (kept across the
    call's retries), 503 and 429 answers are retried as :class:`Retries` allows, and error
    answers raise :class:`~ring_client.ApiError` subclasses carrying the API's error code.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        expires_in: float | None = None,
        on_tokens: Callable[[IssuedTokens], None] | None = None,
        retries: Retries | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        credentials = Credentials(access_token, refresh_token, expires_in, on_tokens)
        self.engine = Engine(base_url, credentials, retries or Retries())
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)
        self._refreshing = asyncio.Lock()

    async def send(self, call: Call[T]) -> T:
        """Send ``call`` (retrying and refreshing as needed) and return its decoded answer."""
        engine = self.engine
        key = engine.idempotency_key(call)
        refreshed = False
        attempt = 0
        while True:
            if call.authenticated:
                await self._refresh_if_due()
            try:
                response = await self._http.send(engine.request(call, key))
            except httpx.TransportError as error:
                await asyncio.sleep(engine.reconnect(call, error, attempt, key).delay)
                attempt += 1
                continue
            step = engine.judge(call, response, attempt, key, may_refresh=not refreshed)
            if isinstance(step, Retry):
                await asyncio.sleep(step.delay)
                attempt += 1
            elif isinstance(step, Refresh):
                await self._refresh_if_due(step.rejected)
                refreshed = True
            else:
                return call.decode(response)

    async def _refresh_if_due(self, rejected: str | None = None) -> None:
        credentials = self.engine.credentials
        if not credentials.needs_refresh(rejected):
            return
        async with (
            self._refreshing
        ):  # never two refreshes at once: the second would end the session
            if credentials.needs_refresh(rejected) and credentials.refresh_token is not None:
                credentials.update(
                    await self.send(_calls.refresh_tokens(credentials.refresh_token))
                )

    async def login(self, email: str, password: str) -> Tokens:
        """Sign in; later calls act as this user."""
        tokens = await self.send(_calls.login(email, password))
        self.engine.credentials.update(tokens)
        return tokens

    async def logout(self, *, all_sessions: bool = False) -> None:
        """End this session (or all of the user's sessions) and forget the tokens."""
        refresh_token = self.engine.credentials.refresh_token
        if refresh_token is not None:
            await self.send(_calls.logout(refresh_token, all_sessions=all_sessions))
        self.engine.credentials.clear()

    async def wait_for_task(self, task_id: _calls.Id, *statuses: str, within: float = 30.0) -> Task:
        """The task once its status is one of ``statuses`` (a long poll where the gateway offers
        one, else reads with backoff).

        Raises:
            WaitTimeout: not within ``within`` seconds.
        """
        return await self._wait(_calls.get_task(task_id), statuses, within)

    async def wait_for_order(
        self, order_id: _calls.Id, *statuses: str, within: float = 30.0
    ) -> Order:
        """The order once its status is one of ``statuses`` (a long poll where the gateway offers
        one, else reads with backoff).

        Raises:
            WaitTimeout: not within ``within`` seconds.
        """
        return await self._wait(_calls.get_order(order_id), statuses, within)

    async def _wait(self, call: Call[S], statuses: tuple[str, ...], within: float) -> S:
        waiting = StatusWait(call, statuses, within)
        current = await self.send(call)
        while (step := waiting.after(current)) is not None:
            await asyncio.sleep(step.delay)
            current = await self.send(step.call)
        return current

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncRing:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()

    register = _send(_calls.register)
    me = _send(_calls.me)
    wallet = _send(_calls.wallet)
    deposit = _send(_calls.deposit)
    withdraw = _send(_calls.withdraw)
    get_withdrawal = _send(_calls.get_withdrawal)
    cancel_withdrawal = _send(_calls.cancel_withdrawal)
    statement = _send(_calls.statement)
    iter_statement = _walk(_calls.statement)
    create_task = _send(_calls.create_task)
    publish_task = _send(_calls.publish_task)
    cancel_task = _send(_calls.cancel_task)
    get_task = _send(_calls.get_task)
    list_tasks = _send(_calls.list_tasks)
    iter_tasks = _walk(_calls.list_tasks)
    list_candidates = _send(_calls.list_candidates)
    take_order = _send(_calls.take_order)
    list_orders = _send(_calls.list_orders)
    iter_orders = _walk(_calls.list_orders)
    get_order = _send(_calls.get_order)
    approve_application = _send(_calls.approve_application)
    decline_application = _send(_calls.decline_application)
    report_progress = _send(_calls.report_progress)
    post_message = _send(_calls.post_message)
    list_messages = _send(_calls.list_messages)
    iter_messages = _walk(_calls.list_messages)
    submit_voucher = _send(_calls.submit_voucher)
    list_order_vouchers = _send(_calls.list_order_vouchers)
    iter_order_vouchers = _walk(_calls.list_order_vouchers)
    get_voucher = _send(_calls.get_voucher)
    get_voucher_file = _send(_calls.get_voucher_file)
    approve_voucher = _send(_calls.approve_voucher)
    reject_voucher = _send(_calls.reject_voucher)
    submit_qualification = _send(_calls.submit_qualification)
    list_recommendations = _send(_calls.list_recommendations)
    get_provider = _send(_calls.get_provider)
    verify_provider = _send(_calls.verify_provider)
    reject_provider = _send(_calls.reject_provider)
    open_dispute = _send(_calls.open_dispute)
    get_dispute = _send(_calls.get_dispute)
    list_my_disputes = _send(_calls.list_my_disputes)
    iter_my_disputes = _walk(_calls.list_my_disputes)
    respond_to_dispute = _send(_calls.respond_to_dispute)
    resolve_dispute = _send(_calls.resolve_dispute)
    add_evidence = _send(_calls.add_evidence)
    get_evidence_file = _send(_calls.get_evidence_file)
    request_arbitration = _send(_calls.request_arbitration)
    withdraw_dispute = _send(_calls.withdraw_dispute)
    list_disputes = _send(_calls.list_disputes)
    iter_disputes = _walk(_calls.list_disputes)
    get_dispute_as_admin = _send(_calls.get_dispute_as_admin)
    my_analytics = _send(_calls.my_analytics)
    analytics = _send(_calls.analytics)
    audit_trail = _send(_calls.audit_trail)
    create_webhook = _send(_calls.create_webhook)
    list_webhooks = _send(_calls.list_webhooks)
    iter_webhooks = _walk(_calls.list_webhooks)
    get_webhook = _send(_calls.get_webhook)
    update_webhook = _send(_calls.update_webhook)
    delete_webhook = _send(_calls.delete_webhook)
    rotate_webhook_secret = _send(_calls.rotate_webhook_secret)
    list_webhook_deliveries = _send(_calls.list_webhook_deliveries)
    iter_webhook_deliveries = _walk(_calls.list_webhook_deliveries)
    redeliver_webhook = _send(_calls.redeliver_webhook)
