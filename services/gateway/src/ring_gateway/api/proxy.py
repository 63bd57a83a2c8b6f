"""Pass-through operations as data: a :class:`Route` row per operation, one :func:`proxy` handler.

A row says what an operation is in the public API (method, path, operation id, tag, roles,
query parameters, body, ``Idempotency-Key``, answer status and example) and where it goes (the
upstream service and its path). :func:`proxy` makes the litestar handler of a row, so the
OpenAPI document, the validation and the forwarding of an operation come from one place:

- the roles are a guard (:func:`~ring_gateway.api.support.roles`): a caller of another role is
  refused 403 ``forbidden`` before its query or body is validated;
- the body is the owning service's own type (:mod:`ring_contracts`), validated here and sent on;
  a body with a ``currency`` is refused 422 ``unsupported_currency`` before anything is sent;
- the answer of the service (status, body, download headers) is relayed unchanged.

Operations that do more than pass a request on are written by hand (sign-up and tokens, taking
a slot with its self-dealing screen, evidence that is JSON or an upload, the event stream,
analytics and audit that ask several services).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Request, Response, route
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody
from litestar.types import Empty, Guard

from ring_gateway.api.support import (
    ADMIN,
    ContentAddress,
    Gateway,
    idempotent,
    relay,
    require_currency,
    roles,
)
from ring_gateway.domain import Role
from ring_gateway.tokens import Principal
from ring_gateway.upstream import UpstreamResponse
from ring_runtime.http import Cursor, Limit
from ring_runtime.long_poll import MAX_WAIT_SECONDS, WaitFor, WaitTimeout

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key", description="Makes retries safe (kept 24 h by default)."
    ),
]
#: The same header where the operation refuses to run without it (money moves): declared
#: required in the schema; a request without it is a 400 ``invalid_idempotency_key``.
RequiredIdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=True,
        description="Required: makes retries safe (kept 24 h by default).",
    ),
]


class Idempotency(Enum):
    """What an operation does with an ``Idempotency-Key`` header."""

    #: Not declared, not honoured.
    NONE = "none"
    #: Honoured when sent: a retry with the same key replays the first answer.
    OPTIONAL = "optional"
    #: Money moves: refused without one; also passed on to the service as ``<user>:<key>``.
    REQUIRED = "required"


#: The default of a query parameter the client must send.
REQUIRED: Any = inspect.Parameter.empty


@dataclass(frozen=True)
class Query:
    """A query parameter of the public operation, passed on to the service (unless ``None``)."""

    name: str
    annotation: Any
    default: Any = None
    #: Its name in the service's query, if not ``name``.
    sent_as: str | None = None


#: ``?wait_for=FIELD:VALUE&timeout=S``: a long-poll read (``timeout`` alone is not passed on).
LONG_POLL = (
    Query("wait_for", WaitFor),
    Query("wait_timeout", WaitTimeout, MAX_WAIT_SECONDS, sent_as="timeout"),
)


def page(limit: int) -> tuple[Query, Query]:
    """``?cursor=&limit=``: one page of a list, ``limit`` items by default."""
    return Query("cursor", Cursor), Query("limit", Limit, limit)


Method = Literal["GET", "POST", "PATCH", "DELETE"]
#: A path parameter's type by its litestar kind: ids are UUIDs; the only string ones are file
#: content addresses, validated because they are pasted into the upstream path.
_PATH_TYPES: dict[str, Any] = {"uuid": UUID, "str": ContentAddress}
_PATH_PARAMETER = re.compile(r"\{(\w+):(\w+)\}")
#: Generic aliases applied to types known at run time only.
_FROM_PATH: Any = FromPath
_JSON_BODY: Any = JSONBody
_DEFAULT_STATUS: dict[str, int] = {"POST": 201, "DELETE": 204}


@dataclass(frozen=True)
class Route:
    """One pass-through operation of the public API: a row of the gateway's route table.

    The first eight fields are given by position, in this order: method, public path,
    operation id, tag, roles, upstream service, upstream path, responses.
    """

    method: Method
    #: The public path (litestar syntax: ``/v1/tasks/{task_id:uuid}``).
    path: str
    operation_id: str
    tag: str
    #: Roles that may call it; empty: any signed-in caller (the service checks the object).
    roles: tuple[Role, ...]
    #: The service answering it (a key of ``RING_UPSTREAMS``) and its path there: ``{name}`` is
    #: a path parameter, ``{me}`` the caller's id.
    upstream: str
    target: str
    #: The success answer: its status and a documented example (see ``support.example``).
    responses: Mapping[int, ResponseSpec]
    status: int | None = None
    #: The JSON body, one of :mod:`ring_contracts` (or :mod:`ring_events` for webhooks).
    body: type[msgspec.Struct] | None = None
    #: The body may be left out: the service then gets ``body()``, the type's defaults.
    body_optional: bool = False
    #: A multipart upload of at most this many bytes, forwarded untouched (its schema is in
    #: ``ring_gateway.openapi.UPLOADS``).
    upload: int | None = None
    query: tuple[Query, ...] = ()
    idempotency: Idempotency = Idempotency.NONE
    #: Admins read through the service's unrestricted ``/admin`` routes (decision 0004).
    admin_view: bool = False
    #: Checks beyond the role (a provider reads only its own profile, say).
    guards: tuple[Guard, ...] = ()
    #: Operation description in the OpenAPI document.
    description: str | None = None
    #: Operation summary in the OpenAPI document, if not the operation id.
    summary: str | None = None
    #: What the operation does (the handler's docstring).
    doc: str = ""
    path_parameters: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = tuple(name for name, _ in _PATH_PARAMETER.findall(self.path))
        object.__setattr__(self, "path_parameters", names)

    def upstream_path(self, principal: Principal, arguments: Mapping[str, Any]) -> str:
        """The service's path for this call (``/admin``-prefixed for an admin's view)."""
        path = self.target.format(me=principal.user_id, **arguments)
        return f"/admin{path}" if self.admin_view and principal.role is ADMIN else path

    def upstream_query(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The query to send on: every parameter under its service name."""
        query = {q.sent_as or q.name: arguments[q.name] for q in self.query}
        if query.get("wait_for") is None:
            query.pop("timeout", None)
        return query


def proxy(row: Route) -> HTTPRouteHandler:
    """The litestar handler of ``row``: guard by role, validate, forward, relay the answer."""

    async def forward_as_caller(**arguments: Any) -> Response[bytes]:
        request: Request[Any, Any, Any] = arguments["request"]
        principal: Principal = arguments["principal"]
        gw: Gateway = arguments["gw"]
        data = arguments.get("data")
        if data is None and row.body_optional and row.body is not None:
            data = row.body()
        currency = getattr(data, "currency", None)
        if isinstance(currency, str):
            require_currency(gw, currency)
        key: str | None = arguments.get("idempotency_key")
        headers: dict[str, str] = {}
        if row.idempotency is Idempotency.REQUIRED:
            headers["Idempotency-Key"] = f"{principal.user_id}:{key}"
        if row.upload is not None:
            headers["content-type"] = request.headers.get("content-type", "")

        async def call() -> UpstreamResponse:
            return await gw.upstreams.call(
                row.upstream,
                row.method,
                row.upstream_path(principal, {n: arguments[n] for n in row.path_parameters}),
                actor=principal,
                params=row.upstream_query(arguments),
                json=msgspec.to_builtins(data) if data is not None else None,
                content=await request.body() if row.upload is not None else None,
                headers=headers or None,
            )

        if row.idempotency is Idempotency.NONE:
            return relay(await call())
        required = row.idempotency is Idempotency.REQUIRED
        return await idempotent(request, gw, principal, key, call, required=required)

    parameters = _signature(row)
    forward_as_caller.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        parameters, return_annotation=Response[bytes]
    )
    forward_as_caller.__annotations__ = {p.name: p.annotation for p in parameters} | {
        "return": Response[bytes]
    }
    forward_as_caller.__name__ = forward_as_caller.__qualname__ = _snake(row.operation_id)
    forward_as_caller.__doc__ = row.doc
    handler = route(
        row.path,
        http_method=row.method,
        status_code=row.status or _DEFAULT_STATUS.get(row.method, 200),
        operation_id=row.operation_id,
        tags=[row.tag],
        responses=dict(row.responses),
        guards=[roles(*row.roles), *row.guards] if row.roles else list(row.guards),
        description=row.description,
        summary=row.summary,
        request_max_body_size=Empty if row.upload is None else row.upload,
    )
    return handler(forward_as_caller)


def _signature(row: Route) -> list[inspect.Parameter]:
    """The handler's parameters, from which litestar validates and documents the operation."""

    def parameter(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> Any:
        return inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
        )

    kinds = dict(_PATH_PARAMETER.findall(row.path))
    parameters = [
        parameter("request", Request[Any, Any, Any]),
        *(parameter(name, _FROM_PATH[_PATH_TYPES[kinds[name]]]) for name in row.path_parameters),
        parameter("principal", NamedDependency[Principal]),
        parameter("gw", NamedDependency[Gateway]),
        *(parameter(q.name, q.annotation, q.default) for q in row.query),
    ]
    if row.body is not None and row.body_optional:
        parameters.append(parameter("data", _JSON_BODY[row.body | None], None))
    elif row.body is not None:
        parameters.append(parameter("data", _JSON_BODY[row.body]))
    if row.idempotency is not Idempotency.NONE:
        required = row.idempotency is Idempotency.REQUIRED
        parameters.append(
            parameter(
                "idempotency_key", RequiredIdempotencyKey if required else IdempotencyKey, None
            )
        )
    return parameters


def _snake(operation_id: str) -> str:
    """``CreateTask`` → ``create_task``: the handler's name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()
