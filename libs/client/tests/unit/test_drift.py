"""The client and the gateway's OpenAPI document must not drift apart.

1. The generated module (request bodies, operations) is what the generator writes from the
   gateway's current document: after an API change, run ``python -m ring_client._generate``.
2. Every operation the client calls exists in the document with the same method and path, and
   takes an ``Idempotency-Key`` exactly when the client draws one.
3. Every documented example answer decodes into the model the client decodes it with, and shows
   no field the model lacks.
"""

from __future__ import annotations

import copy
import inspect
import typing
from collections.abc import Sequence
from datetime import UTC, datetime
from types import UnionType
from typing import Any, Literal, get_args, get_origin
from uuid import UUID, uuid4

import msgspec
import pytest

from ring_client import _calls, _generate
from ring_client._core import Call, JsonAs
from ring_client._openapi import TaskCreateRequest

_METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return _generate.gateway_openapi()


def documented(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId → (method, path, operation) of every operation of ``document``."""
    return {
        operation["operationId"]: (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in _METHODS
    }


def _dummy(annotation: Any) -> Any:
    """A valid argument of type ``annotation`` for building a call."""
    origin = get_origin(annotation)
    if annotation is str:
        return "x"
    if annotation is int:
        return 1
    if annotation is TaskCreateRequest:
        deadline = datetime(2030, 1, 1, tzinfo=UTC)
        return TaskCreateRequest(
            title="t", deadline=deadline, commission_minor=1, currency="CNY", slots=1
        )
    if origin is Literal:
        return get_args(annotation)[0]
    if origin in (UnionType, typing.Union):
        return uuid4() if UUID in get_args(annotation) else _dummy(get_args(annotation)[0])
    if origin in (list, Sequence):
        (item,) = get_args(annotation)
        return [("a.png", b"x", "image/png")] if get_origin(item) is tuple else [_dummy(item)]
    raise AssertionError(f"no dummy for {annotation!r}: extend _dummy")


def client_calls() -> dict[str, Call[Any]]:
    """Every operation builder of the client, called with valid dummy arguments."""
    calls = {}
    for name, builder in vars(_calls).items():
        if not inspect.isfunction(builder) or builder.__module__ != _calls.__name__:
            continue
        hints = typing.get_type_hints(builder)
        arguments = {
            p.name: _dummy(hints[p.name])
            for p in inspect.signature(builder).parameters.values()
            if p.default is inspect.Parameter.empty
        }
        positional = [
            arguments.pop(p.name)
            for p in inspect.signature(builder).parameters.values()
            if p.kind is p.POSITIONAL_OR_KEYWORD and p.name in arguments
        ]
        calls[name] = builder(*positional, **arguments)
    return calls


def test_the_generated_module_matches_the_document(document: dict[str, Any]) -> None:
    assert _generate.TARGET.read_text() == _generate.generate(document), (
        "the gateway's OpenAPI changed: run `.venv/bin/python -m ring_client._generate`"
    )


def test_the_generator_sees_changes_to_the_document(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["components"]["schemas"]["MoneyRequest"]["properties"]["currency"]["pattern"] = "^X$"
    assert _generate.generate(changed) != _generate.generate(document)


def test_every_client_operation_is_documented_as_the_client_calls_it(
    document: dict[str, Any],
) -> None:
    assert mismatches(client_calls(), documented(document)) == []


def test_a_moved_operation_is_caught(document: dict[str, Any]) -> None:
    moved = copy.deepcopy(document)
    moved["paths"]["/v1/tasks/{task_id}/go"] = moved["paths"].pop("/v1/tasks/{task_id}/publish")
    del moved["paths"]["/v1/wallet/deposits"]["post"]["parameters"]
    assert mismatches(client_calls(), documented(moved)) == [
        "deposit: Idempotency-Key documented False, client draws one True",
        "publish_task: POST /v1/tasks/{task_id}/publish, documented POST /v1/tasks/{task_id}/go",
    ]


def mismatches(
    calls: dict[str, Call[Any]], operations: dict[str, tuple[str, str, dict[str, Any]]]
) -> list[str]:
    found = []
    for name, call in sorted(calls.items()):
        op = call.operation
        if op.operation_id not in operations:
            found.append(f"{name}: {op.operation_id} is not documented")
            continue
        method, path, spec = operations[op.operation_id]
        if (op.method, op.path) != (method, path):
            found.append(f"{name}: {op.method} {op.path}, documented {method} {path}")
        headers = {p["name"].lower() for p in spec.get("parameters", []) if p["in"] == "header"}
        takes_key = "idempotency-key" in headers
        if takes_key != op.idempotency_key:
            found.append(
                f"{name}: Idempotency-Key documented {takes_key}, client draws one "
                f"{op.idempotency_key}"
            )
        documented_query = {p["name"] for p in spec.get("parameters", []) if p["in"] == "query"}
        if set(call.query) - documented_query:
            found.append(f"{name}: query {set(call.query) - documented_query} not documented")
    return found


def test_documented_examples_decode_into_the_client_models(document: dict[str, Any]) -> None:
    operations = documented(document)
    problems: list[str] = []
    checked = 0
    for name, call in sorted(client_calls().items()):
        if not isinstance(call.decode, JsonAs):
            continue
        _, _, spec = operations[call.operation.operation_id]
        for status, answer in spec["responses"].items():
            if not status.startswith("2"):
                continue
            examples = answer.get("content", {}).get("application/json", {}).get("examples", {})
            for example in examples.values():
                checked += 1
                problems += [f"{name} {status}: {p}" for p in fits(example["value"], call.decode)]
    assert checked >= 30
    assert problems == []


def fits(value: Any, decode: JsonAs[Any]) -> list[str]:
    """Why ``value`` does not fit ``decode.kind`` (empty when it does)."""
    try:
        msgspec.convert(value, decode.kind, strict=False)
    except msgspec.ValidationError as error:
        return [str(error)]
    return unknown_fields(value, msgspec.inspect.type_info(decode.kind), "$")


def unknown_fields(value: Any, info: msgspec.inspect.Type, at: str) -> list[str]:
    """Fields of ``value`` (at any depth) that its model does not declare."""
    if isinstance(info, msgspec.inspect.UnionType):
        return [p for t in info.types for p in unknown_fields(value, t, at)]
    if isinstance(info, msgspec.inspect.ListType) and isinstance(value, list):
        return [
            p for i, v in enumerate(value) for p in unknown_fields(v, info.item_type, f"{at}[{i}]")
        ]
    if isinstance(info, msgspec.inspect.StructType) and isinstance(value, dict):
        fields = {f.encode_name: f.type for f in info.fields}
        found = [f"{at}.{key} is not in {info.cls.__name__}" for key in value if key not in fields]
        for key, item in value.items():
            if key in fields:
                found += unknown_fields(item, fields[key], f"{at}.{key}")
        return found
    return []


def test_the_example_check_catches_an_unknown_field() -> None:
    decode = _calls.get_task("x").decode
    assert isinstance(decode, JsonAs)
    wallet = _calls.wallet("CNY").decode
    assert isinstance(wallet, JsonAs)
    answer = {"currency": "CNY", "available_minor": 1, "reserved_minor": 0, "frozen_minor": 3}
    assert fits(answer, wallet) == ["$.frozen_minor is not in Wallet"]
    assert fits({"currency": "CNY"}, wallet) != []


def test_the_generator_writes_constraints_defaults_and_operations() -> None:
    document = {
        "paths": {
            "/v1/things/{thing_id}": {
                "post": {
                    "operationId": "MakeThing",
                    "parameters": [
                        {"name": "thing_id", "in": "path"},
                        {"name": "dry_run", "in": "query"},
                        {"name": "Idempotency-Key", "in": "header"},
                    ],
                    "requestBody": {"content": {"application/json": {}}},
                }
            }
        },
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "required": ["name", "note", "size"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 9},
                        "note": {"oneOf": [{"type": "string"}, {"type": "null"}]},
                        "size": {"type": "integer", "exclusiveMinimum": 0.0},
                        "kind": {"type": "string", "enum": ["a", "b"], "default": "a"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                    },
                }
            }
        },
    }
    source = _generate.generate(document)
    assert "    name: Annotated[str, msgspec.Meta(min_length=1, max_length=9)]\n" in source
    assert "    note: str | None = None\n" in source  # nullable: may be left out
    assert "    size: Annotated[int, msgspec.Meta(gt=0)]\n" in source
    assert '    kind: Literal["a", "b"] = "a"\n' in source
    assert "    tags: list[str] | None = None\n" in source
    assert "MAKE_THING = Operation(" in source
    namespace: dict[str, Any] = {}
    exec(compile(source, "generated", "exec"), namespace)
    operation = namespace["MAKE_THING"]
    assert (operation.method, operation.path, operation.query) == (
        "POST",
        "/v1/things/{thing_id}",
        ("dry_run",),
    )
    assert operation.idempotency_key
    assert operation.body == ("application/json",)
