"""The client against scripted answers (``httpx.MockTransport``): error mapping, retries,
idempotency keys, paging, token refresh — the blocking and the asyncio client alike."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import msgspec
import pytest

from ring_client import (
    ApiError,
    AsyncRing,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    Retries,
    Ring,
    RingConnectionError,
    ServerError,
    ServiceUnavailable,
    TaskCreateRequest,
    Unauthorized,
    Unprocessable,
    WaitTimeout,
    _calls,
)
from ring_client._core import Operation, StatusWait
from ring_client.models import Task

Handler = Callable[[httpx.Request], httpx.Response]
TASK_ID = "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c"
TOKENS = {
    "access_token": "access-1",
    "token_type": "bearer",
    "expires_in": 900,
    "refresh_token": "refresh-1",
    "refresh_expires_in": 1209600,
}


def error(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"error": {"code": code, "message": f"{code}!", "details": {"why": code}}}
    return httpx.Response(status, json=body, headers=headers)


def task(status: str = "published") -> dict[str, Any]:
    return {
        "id": TASK_ID,
        "owner_id": str(uuid4()),
        "title": "Label",
        "status": status,
        "commission_minor": 10_000,
        "fee_minor": 500,
        "currency": "CNY",
        "slots": 1,
        "slots_left": 1,
        "reserved_minor": 10_500,
    }


class Script:
    """Answers requests in order and records them."""

    def __init__(self, *answers: httpx.Response | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        return answer(request) if callable(answer) else answer


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the client's pauses instead of sleeping them."""
    slept: list[float] = []

    async def asleep(delay: float) -> None:
        slept.append(delay)

    monkeypatch.setattr("time.sleep", slept.append)
    monkeypatch.setattr("asyncio.sleep", asleep)
    return slept


def ring(script: Script, **options: Any) -> Ring:
    options.setdefault("access_token", "access-0")
    return Ring("http://gw.test", transport=httpx.MockTransport(script), **options)


def aring(script: Script, **options: Any) -> AsyncRing:
    options.setdefault("access_token", "access-0")
    return AsyncRing("http://gw.test", transport=httpx.MockTransport(script), **options)


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (422, Unprocessable),
        (429, RateLimited),
        (503, ServiceUnavailable),
        (500, ServerError),
        (418, ApiError),
    ],
)
def test_error_answers_raise_their_class_with_the_api_code(
    status: int, cls: type[ApiError]
) -> None:
    client = ring(Script(error(status, "some_code")), retries=Retries(attempts=0))
    with pytest.raises(cls) as raised:
        client.get_task(TASK_ID)
    assert type(raised.value) is cls
    assert (raised.value.status, raised.value.code) == (status, "some_code")
    assert raised.value.message == "some_code!"
    assert raised.value.details == {"why": "some_code"}


def test_an_error_without_the_error_model_still_carries_the_status() -> None:
    client = ring(Script(httpx.Response(502, text="Bad Gateway")))
    with pytest.raises(ServerError) as raised:
        client.get_task(TASK_ID)
    assert (raised.value.code, raised.value.message) == ("http_502", "Bad Gateway")


async def test_the_async_client_maps_errors_the_same_way() -> None:
    client = aring(Script(error(403, "provider_not_verified")))
    with pytest.raises(Forbidden) as raised:
        await client.take_order(TASK_ID)
    assert raised.value.code == "provider_not_verified"


# -- requests and answers ------------------------------------------------------------------


def test_a_call_sends_the_documented_request_and_decodes_the_answer() -> None:
    script = Script(httpx.Response(201, json={"id": TASK_ID, "status": "draft"}))
    deadline = datetime(2030, 1, 1, tzinfo=UTC)
    created = ring(script).create_task(
        TaskCreateRequest(
            title="Label", deadline=deadline, commission_minor=100, currency="CNY", slots=2
        )
    )
    assert (str(created.id), created.status) == (TASK_ID, "draft")
    (sent,) = script.requests
    assert (sent.method, sent.url.path) == ("POST", "/v1/tasks")
    assert sent.headers["authorization"] == "Bearer access-0"
    # Unset optional fields are left out: the server's defaults apply.
    assert json.loads(sent.content) == {
        "title": "Label",
        "deadline": "2030-01-01T00:00:00Z",
        "commission_minor": 100,
        "currency": "CNY",
        "slots": 2,
    }


def test_query_parameters_are_sent_without_the_unset_ones() -> None:
    script = Script(httpx.Response(200, json={"items": [], "next_cursor": None}))
    ring(script).list_tasks(skill="labeling", limit=5)
    assert dict(script.requests[0].url.params) == {"skill": "labeling", "limit": "5"}


def test_uploads_are_multipart_files_and_note() -> None:
    script = Script(httpx.Response(201, json={"id": TASK_ID, "sha256": ["ab"]}))
    submitted = ring(script).submit_voucher(
        TASK_ID, [("p.png", b"\x89PNG", "image/png")], note="ok"
    )
    assert submitted.sha256 == ["ab"]
    sent = script.requests[0]
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert b'name="files"; filename="p.png"' in sent.content
    assert b'name="note"' in sent.content


# -- idempotency keys ----------------------------------------------------------------------

DEPOSIT = {"id": TASK_ID, "status": "confirmed", "amount_minor": 500, "currency": "CNY"}


def test_operations_that_take_an_idempotency_key_get_a_fresh_one_per_call() -> None:
    script = Script(httpx.Response(201, json=DEPOSIT), httpx.Response(201, json=DEPOSIT))
    client = ring(script)
    client.deposit(500, "CNY")
    client.deposit(500, "CNY")
    keys = [r.headers["idempotency-key"] for r in script.requests]
    assert all(keys)
    assert keys[0] != keys[1]


def test_the_idempotency_key_is_kept_across_the_retries_of_one_call() -> None:
    busy = error(503, "catching_up", {"Retry-After": "0"})
    script = Script(busy, busy, httpx.Response(201, json=DEPOSIT))
    ring(script).deposit(500, "CNY")
    keys = {r.headers["idempotency-key"] for r in script.requests}
    assert len(script.requests) == 3
    assert len(keys) == 1


def test_a_given_idempotency_key_is_sent_as_is() -> None:
    script = Script(httpx.Response(201, json={"id": TASK_ID, "status": "accepted"}))
    ring(script).take_order(TASK_ID, idempotency_key="take-42")
    assert script.requests[0].headers["idempotency-key"] == "take-42"


def test_operations_without_idempotency_keys_send_none() -> None:
    script = Script(httpx.Response(202, json=task("funding")))
    ring(script).publish_task(TASK_ID)
    assert "idempotency-key" not in script.requests[0].headers


# -- retries -------------------------------------------------------------------------------


def test_503_with_retry_after_is_retried_after_that_long(no_sleep: list[float]) -> None:
    script = Script(
        error(503, "catching_up", {"Retry-After": "2"}), httpx.Response(200, json=task())
    )
    assert ring(script).get_task(TASK_ID).status == "published"
    assert no_sleep == [2.0]


def test_retries_are_bounded(no_sleep: list[float]) -> None:
    busy = error(503, "catching_up", {"Retry-After": "1"})
    script = Script(busy, busy, busy)
    with pytest.raises(ServiceUnavailable) as raised:
        ring(script, retries=Retries(attempts=2)).get_task(TASK_ID)
    assert raised.value.retry_after == 1.0
    assert (len(script.requests), no_sleep) == (3, [1.0, 1.0])


def test_a_retry_after_longer_than_the_limit_is_not_waited_for(no_sleep: list[float]) -> None:
    script = Script(error(503, "maintenance", {"Retry-After": "3600"}))
    with pytest.raises(ServiceUnavailable):
        ring(script).get_task(TASK_ID)
    assert no_sleep == []


def test_a_retry_after_date_is_honoured(no_sleep: list[float]) -> None:
    headers = {
        "Retry-After": "Wed, 21 Oct 2026 07:28:05 GMT",
        "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
    }
    script = Script(error(503, "catching_up", headers), httpx.Response(200, json=task()))
    ring(script).get_task(TASK_ID)
    assert no_sleep == [5.0]


def test_a_503_without_retry_after_is_retried_only_when_repeating_is_safe(
    no_sleep: list[float],
) -> None:
    unavailable = error(503, "upstream_unavailable")
    reads = Script(unavailable, unavailable, httpx.Response(200, json=task()))
    ring(reads).get_task(TASK_ID)  # a GET: backoff
    assert no_sleep == [0.5, 1.0]
    publish = Script(unavailable)  # a POST without Idempotency-Key: it may have happened
    with pytest.raises(ServiceUnavailable):
        ring(publish).publish_task(TASK_ID)
    assert len(publish.requests) == 1


def test_rate_limits_are_retried_after_retry_after(no_sleep: list[float]) -> None:
    script = Script(
        error(429, "rate_limited", {"Retry-After": "3"}),
        httpx.Response(200, json=TOKENS),
    )
    Ring("http://gw.test", transport=httpx.MockTransport(script)).login("a@b.c", "pw")
    assert no_sleep == [3.0]


def test_connection_failures_are_retried_then_raised(no_sleep: list[float]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    script = Script(refuse, refuse, refuse, refuse)
    with pytest.raises(RingConnectionError):
        ring(script).get_task(TASK_ID)
    assert len(script.requests) == 4


async def test_the_async_client_retries_the_same_way(no_sleep: list[float]) -> None:
    busy = error(503, "catching_up", {"Retry-After": "1"})
    script = Script(busy, httpx.Response(201, json=DEPOSIT))
    await aring(script).deposit(500, "CNY")
    assert no_sleep == [1.0]
    assert len({r.headers["idempotency-key"] for r in script.requests}) == 1


# -- paging --------------------------------------------------------------------------------


def pages(*pages: tuple[list[str], str | None]) -> Script:
    return Script(
        *(
            httpx.Response(
                200,
                json={
                    "items": [
                        {
                            "id": i,
                            "order_id": TASK_ID,
                            "author_id": TASK_ID,
                            "role": "owner",
                            "body": i,
                            "at": "2026-11-27T10:05:00Z",
                        }
                        for i in ids
                    ],
                    "next_cursor": cursor,
                },
            )
            for ids, cursor in pages
        )
    )


IDS = [str(uuid4()) for _ in range(5)]


def test_iterators_follow_next_cursor_until_the_last_page() -> None:
    script = pages((IDS[:2], "c1"), (IDS[2:4], "c2"), (IDS[4:], None))
    found = [str(m.id) for m in ring(script).iter_messages(TASK_ID, limit=2)]
    assert found == IDS
    assert [r.url.params.get("cursor") for r in script.requests] == [None, "c1", "c2"]
    assert {r.url.params["limit"] for r in script.requests} == {"2"}


def test_iterators_fetch_pages_only_as_needed() -> None:
    script = pages((IDS[:2], "c1"), (IDS[2:4], None))
    first = next(iter(ring(script).iter_messages(TASK_ID)))
    assert (str(first.id), len(script.requests)) == (IDS[0], 1)


async def test_async_iterators_follow_next_cursor() -> None:
    script = pages((IDS[:3], "c1"), ([], "c2"), (IDS[3:], None))
    found = [str(m.id) async for m in aring(script).iter_messages(TASK_ID)]
    assert found == IDS


def test_the_statement_pages_by_its_integer_cursor() -> None:
    posting = {
        "sequence": 1,
        "transfer_id": "t",
        "code": "deposit",
        "debit_minor": 0,
        "credit_minor": 7,
        "pending_debit_minor": 0,
        "pending_credit_minor": 0,
        "occurred_at": "2026-11-27T08:00:00Z",
    }
    page = {"party_id": "p", "currency": "CNY", "postings": [posting]}
    script = Script(
        httpx.Response(200, json={**page, "next_cursor": 4}),
        httpx.Response(200, json={**page, "next_cursor": None}),
    )
    credits = [p.credit_minor for p in ring(script).iter_statement("CNY")]
    assert credits == [7, 7]
    assert script.requests[1].url.params["cursor"] == "4"


# -- tokens --------------------------------------------------------------------------------


def refreshed(n: int) -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/auth/refresh"
        assert "authorization" not in request.headers
        return httpx.Response(
            200, json={**TOKENS, "access_token": f"access-{n}", "refresh_token": f"refresh-{n}"}
        )

    return answer


def test_login_then_calls_carry_the_access_token() -> None:
    script = Script(httpx.Response(200, json=TOKENS), httpx.Response(200, json=task()))
    client = Ring("http://gw.test", transport=httpx.MockTransport(script))
    client.login("a@b.c", "correct horse")
    client.get_task(TASK_ID)
    assert "authorization" not in script.requests[0].headers
    assert script.requests[1].headers["authorization"] == "Bearer access-1"


def test_an_access_token_about_to_expire_is_refreshed_first() -> None:
    seen: list[str] = []
    script = Script(refreshed(2), httpx.Response(200, json=task()))
    client = ring(
        script,
        refresh_token="refresh-1",
        expires_in=0,
        on_tokens=lambda t: seen.append(t.refresh_token),
    )
    client.get_task(TASK_ID)
    assert [r.url.path for r in script.requests] == ["/v1/auth/refresh", f"/v1/tasks/{TASK_ID}"]
    assert json.loads(script.requests[0].content) == {"refresh_token": "refresh-1"}
    assert script.requests[1].headers["authorization"] == "Bearer access-2"
    assert seen == ["refresh-2"]


def test_a_refused_access_token_is_refreshed_once_and_the_call_repeated() -> None:
    script = Script(error(401, "invalid_token"), refreshed(2), httpx.Response(200, json=task()))
    ring(script, refresh_token="refresh-1", expires_in=900).get_task(TASK_ID)
    auth = [r.headers.get("authorization") for r in script.requests]
    assert auth == ["Bearer access-0", None, "Bearer access-2"]


def test_a_refused_token_is_not_refreshed_in_a_loop() -> None:
    script = Script(error(401, "invalid_token"), refreshed(2), error(401, "invalid_token"))
    with pytest.raises(Unauthorized):
        ring(script, refresh_token="refresh-1").get_task(TASK_ID)
    assert len(script.requests) == 3


def test_wrong_credentials_and_a_reused_refresh_token_are_not_retried() -> None:
    login = Script(error(401, "invalid_credentials"))
    with pytest.raises(Unauthorized) as raised:
        Ring("http://gw.test", transport=httpx.MockTransport(login)).login("a@b.c", "nope")
    assert raised.value.code == "invalid_credentials"
    reused = Script(error(401, "refresh_token_reused"))
    with pytest.raises(Unauthorized) as raised:
        ring(reused, refresh_token="refresh-1", expires_in=0).get_task(TASK_ID)
    assert raised.value.code == "refresh_token_reused"
    assert len(reused.requests) == 1


async def test_concurrent_async_calls_refresh_the_token_once() -> None:
    """Two refreshes with one token would end the session (reuse detection): never do that."""
    refreshes: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/auth/refresh":
            refreshes.append(json.loads(request.content)["refresh_token"])
            return refreshed(len(refreshes) + 1)(request)
        assert request.headers["authorization"] == "Bearer access-2"
        return httpx.Response(200, json=task())

    client = AsyncRing(
        "http://gw.test",
        transport=httpx.MockTransport(answer),
        access_token="access-0",
        refresh_token="refresh-1",
        expires_in=0,
    )
    await asyncio.gather(*(client.get_task(TASK_ID) for _ in range(5)))
    assert refreshes == ["refresh-1"]


def test_logout_ends_the_session_and_forgets_the_tokens() -> None:
    script = Script(httpx.Response(204), error(401, "invalid_token"))
    client = ring(script, refresh_token="refresh-1")
    client.logout()
    assert json.loads(script.requests[0].content) == {"refresh_token": "refresh-1"}
    with pytest.raises(Unauthorized):
        client.get_task(TASK_ID)
    assert "authorization" not in script.requests[1].headers


# -- waiting -------------------------------------------------------------------------------


def test_wait_for_task_reads_until_the_status_with_growing_pauses(no_sleep: list[float]) -> None:
    script = Script(
        *(httpx.Response(200, json=task("funding")) for _ in range(3)),
        httpx.Response(200, json=task()),
    )
    assert ring(script).wait_for_task(TASK_ID, "published", "funding_failed").status == "published"
    assert no_sleep == [0.1, 0.2, 0.4]


def test_wait_for_task_gives_up_at_the_deadline() -> None:
    script = Script(*(httpx.Response(200, json=task("funding")) for _ in range(100)))
    with pytest.raises(WaitTimeout):
        ring(script).wait_for_task(TASK_ID, "published", within=0.0)


def test_a_query_parameter_the_operation_does_not_take_is_refused() -> None:
    call = _calls.get_task(TASK_ID)
    with pytest.raises(ValueError, match="takes no query parameter"):
        ring(Script()).send(call.following("c1"))


def test_a_read_that_offers_a_long_poll_is_held_by_the_server_instead(
    no_sleep: list[float],
) -> None:
    """Where the document gives a read ``wait_for`` and ``timeout`` (regenerated module), the
    wait asks the server to hold the read rather than reading again and again."""
    long_poll = Operation(
        operation_id="GetTask",
        method="GET",
        path="/v1/tasks/{task_id}",
        query=("wait_for", "timeout"),
    )
    call = dataclasses.replace(_calls.get_task(TASK_ID), operation=long_poll)
    script = Script(httpx.Response(200, json=task("funding")), httpx.Response(200, json=task()))
    assert ring(script)._wait(call, ("published",), 30.0).status == "published"
    first, held = (dict(r.url.params) for r in script.requests)
    assert first == {}
    assert held["wait_for"] == "status:published"
    assert 9 < float(held["timeout"]) <= 10
    assert no_sleep == [0.0]


def test_several_awaited_statuses_are_read_with_backoff_even_with_a_long_poll() -> None:
    long_poll = Operation(
        operation_id="GetTask",
        method="GET",
        path="/v1/tasks/{task_id}",
        query=("wait_for", "timeout"),
    )
    call = dataclasses.replace(_calls.get_task(TASK_ID), operation=long_poll)
    waiting = StatusWait(call, ("published", "funding_failed"), 30.0)
    step = waiting.after(msgspec.convert(task("funding"), Task))
    assert step is not None
    assert (step.call, step.delay) == (call, 0.1)
    assert waiting.after(msgspec.convert(task("funding_failed"), Task)) is None


def test_a_body_the_operation_does_not_take_is_refused() -> None:
    call = dataclasses.replace(_calls.get_task(TASK_ID), json={"title": "x"})
    with pytest.raises(ValueError, match="takes no application/json body"):
        ring(Script()).send(call)


def test_a_client_resumed_from_a_refresh_token_alone_refreshes_first() -> None:
    script = Script(refreshed(2), httpx.Response(200, json=task()))
    Ring(
        "http://gw.test", transport=httpx.MockTransport(script), refresh_token="refresh-1"
    ).get_task(TASK_ID)
    assert script.requests[1].headers["authorization"] == "Bearer access-2"
