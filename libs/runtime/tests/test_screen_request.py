"""The request screen every service runs before its handlers: NUL, media type, nesting."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from litestar import Litestar, post
from litestar.params import JSONBody
from litestar.testing import TestClient

from ring_runtime.http import exception_handlers, screen_request

received: list[Any] = []


@post("/echo")
async def echo(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    received.append(data)
    return data


class Money(msgspec.Struct, forbid_unknown_fields=True):
    amount_minor: int
    currency: str
    urgent: bool = False


@post("/money")
async def take_money(data: JSONBody[Money]) -> None:
    received.append(data)


@pytest.fixture
def client() -> TestClient[Litestar]:
    received.clear()
    app = Litestar(
        [echo, take_money], before_request=screen_request, exception_handlers=exception_handlers({})
    )
    return TestClient(app)


@pytest.mark.parametrize(
    "body",
    [
        b'{"title": "a\\u0000b"}',
        b'{"tags": ["ok", "\\u0000"]}',
        b'{"deep": {"key\\u0000": 1}}',
    ],
)
def test_a_nul_in_json_text_is_a_400_and_reaches_no_handler(
    client: TestClient[Litestar], body: bytes
) -> None:
    with client:
        answer = client.post("/echo", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "validation_failed"
    assert received == []


def test_a_nul_in_the_query_is_a_400(client: TestClient[Litestar]) -> None:
    with client:
        answer = client.post("/echo?status=a%00b", json={"title": "fine"})
    assert answer.status_code == 400
    assert received == []


def test_ordinary_text_and_an_escaped_backslash_pass(client: TestClient[Litestar]) -> None:
    with client:
        answer = client.post("/echo", json={"title": "a \\u0000 b", "n": 1})
    assert answer.status_code == 201, answer.text
    assert received == [{"title": "a \\u0000 b", "n": 1}]


@pytest.mark.parametrize("media_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_json_is_a_415(client: TestClient[Litestar], media_type: str) -> None:
    with client:
        answer = client.post(
            "/echo", content=b'{"title": "a\\u0000b"}', headers={"content-type": media_type}
        )
    assert answer.status_code == 415, answer.text
    assert answer.json()["error"]["code"] == "unsupported_media_type"
    assert received == []


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_json_nested_too_deeply_is_a_400_not_a_500(
    client: TestClient[Litestar], depth: int
) -> None:
    with client:
        answer = client.post(
            "/echo",
            content=b'{"a": ' + b"[" * depth + b"]" * depth + b"}",
            headers={"content-type": "application/json"},
        )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "validation_failed"
    assert received == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"amount_minor": "100", "currency": "CNY"}',
        b'{"amount_minor": 1000.0, "currency": "CNY"}',
        b'{"amount_minor": 1e3, "currency": "CNY"}',
        b'{"amount_minor": 100, "currency": "CNY", "urgent": "true"}',
    ],
)
def test_values_that_only_convert_to_the_declared_type_are_a_400(
    client: TestClient[Litestar], body: bytes
) -> None:
    """Litestar's lenient conversion would take "100" and 1000.0 as amounts (issue 11)."""
    with client:
        answer = client.post("/money", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "validation_failed"
    assert received == []


def test_exactly_typed_values_pass_and_other_errors_stay_the_handler_s(
    client: TestClient[Litestar],
) -> None:
    with client:
        fine = client.post("/money", json={"amount_minor": 100, "currency": "CNY"})
        unknown = client.post("/money", json={"amount_minor": 1, "currency": "CNY", "x": 1})
    assert fine.status_code == 201, fine.text
    assert received == [Money(amount_minor=100, currency="CNY")]
    assert unknown.status_code == 400
    assert "x" in unknown.text
