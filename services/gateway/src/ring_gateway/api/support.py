"""What every controller uses: the wiring object, authentication, role checks, forwarding."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Parameter
from litestar.types import Guard

from ring_gateway.application import Users
from ring_gateway.domain import Role
from ring_gateway.errors import InvalidIdempotencyKey, RoleForbidden, UnsupportedCurrency
from ring_gateway.flags import FlagStore
from ring_gateway.idempotency import (
    IdempotencyStore,
    StoredResponse,
    request_fingerprint,
    should_store,
)
from ring_gateway.ratelimit import RateLimiter
from ring_gateway.sessions import RefreshSessions
from ring_gateway.tokens import InvalidToken, Principal, TokenService
from ring_gateway.upstream import UpstreamResponse, Upstreams
from ring_runtime.http import OUTAGE_RETRY_AFTER_SECONDS

#: Header marking a response that was replayed for a repeated Idempotency-Key.
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")

A, B, ADMIN = Role.PARTY_A, Role.PARTY_B, Role.ADMIN
_PRINCIPAL = "ring_principal"

#: A file's content address in a path. Validated here: the value is pasted into the upstream
#: URL (control characters were a 500 there; ``..`` would play path games).
ContentAddress = Annotated[
    str, Parameter(pattern="^[0-9a-f]{64}$", description="Lower-case hex SHA-256")
]


@dataclass
class Gateway:
    """The gateway's collaborators, handed to controllers as ``gw``."""

    users: Users
    tokens: TokenService
    upstreams: Upstreams
    idempotency: IdempotencyStore
    sessions: RefreshSessions
    auth_limiter: RateLimiter
    refresh_limiter: RateLimiter
    #: The review queue of suspected self-dealing (decision 0017).
    flags: FlagStore
    #: Currencies money may enter in (``RING_CURRENCIES``); the services check them too.
    currencies: frozenset[str]


def require_currency(gw: Gateway, currency: str) -> None:
    """Refuse money in a currency the platform does not accept, before anything is forwarded.

    Raises:
        UnsupportedCurrency: ``currency`` is not in ``RING_CURRENCIES`` (``XXX``, say).
    """
    if currency not in gw.currencies:
        raise UnsupportedCurrency(
            f"currency {currency!r} is not supported; use one of {', '.join(sorted(gw.currencies))}"
        )


def client_address(request: Request[Any, Any, Any]) -> str:
    """The client's address (uvicorn resolved ``X-Forwarded-For`` of trusted proxies)."""
    return request.client.host if request.client else "unknown"


def authenticate(
    request: ASGIConnection[Any, Any, Any, Any], gw: NamedDependency[Gateway]
) -> Principal:
    """The caller of ``request`` from its ``Authorization: Bearer`` access token (the
    ``principal`` dependency; verified once per request, see :func:`authenticate_first`).

    Raises:
        InvalidToken: no bearer token, or not a valid access token.
    """
    known = request.state.get(_PRINCIPAL)
    if isinstance(known, Principal):
        return known
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("an `Authorization: Bearer <access token>` header is required")
    principal = gw.tokens.verify(token.strip())
    request.state[_PRINCIPAL] = principal
    return principal


def authenticate_first(connection: ASGIConnection[Any, Any, Any, Any], handler: Any) -> None:
    """App guard: a route that needs a caller authenticates before its parameters are
    validated, so an anonymous request learns 401 and nothing about valid parameters."""
    if "principal" in handler.parsed_fn_signature.parameters:
        gw: Gateway = connection.app.state.gateway
        authenticate(connection, gw)


def roles(*allowed: Role) -> Guard:
    """A guard letting only callers of the ``allowed`` roles through: a caller of another role
    is refused before the request's parameters and body are validated.

    Raises:
        RoleForbidden: the caller's role is not one of ``allowed``.
    """
    names = ", ".join(str(r) for r in allowed)

    def check_role(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = authenticate(connection, connection.app.state.gateway)
        if principal.role not in allowed:
            raise RoleForbidden(f"this operation is for {names}; you are {principal.role}")

    return check_role


def relay(answer: UpstreamResponse | StoredResponse, replayed: bool = False) -> Response[bytes]:
    """The upstream's answer (or a stored one) as the gateway's response, unchanged (a 503
    gets ``Retry-After``: the service's dependency is down, or its copy is catching up)."""
    headers = dict(answer.headers) if isinstance(answer, UpstreamResponse) else {}
    if replayed:
        headers[REPLAYED_HEADER] = "true"
    if isinstance(answer, UpstreamResponse) and answer.retry_after is not None:
        headers["Retry-After"] = answer.retry_after
    elif answer.status == 503:
        headers["Retry-After"] = str(OUTAGE_RETRY_AFTER_SECONDS)
    return Response(
        content=answer.body,
        status_code=answer.status,
        media_type=answer.content_type,
        headers=headers,
    )


async def idempotent(
    request: Request[Any, Any, Any],
    gw: Gateway,
    principal: Principal,
    key: str | None,
    run: Callable[[], Awaitable[UpstreamResponse]],
    *,
    required: bool,
) -> Response[bytes]:
    """Run ``run`` at most once per ``(user, Idempotency-Key)``; replay its first answer.

    Raises:
        InvalidIdempotencyKey: the key is missing although ``required``, or malformed.
        IdempotencyKeyReused: the key was used for a different request (422).
        RequestInProgress: the key's first request is still running (409).
    """
    if key is None:
        if required:
            raise InvalidIdempotencyKey("this operation needs an Idempotency-Key header")
        return relay(await run())
    if not _KEY_PATTERN.match(key):
        raise InvalidIdempotencyKey("Idempotency-Key must be 1-200 visible ASCII characters")
    fingerprint = request_fingerprint(request.method, request.url.path, await request.body())
    stored = await gw.idempotency.begin(principal.user_id, key, fingerprint)
    if stored is not None:
        return relay(stored, replayed=True)
    try:
        answer = await run()
    except BaseException:
        await gw.idempotency.release(principal.user_id, key, fingerprint)
        raise
    if should_store(answer.status):
        final = StoredResponse(answer.status, answer.body, answer.content_type)
        await gw.idempotency.complete(principal.user_id, key, fingerprint, final)
    else:
        await gw.idempotency.release(principal.user_id, key, fingerprint)
    return relay(answer)


def example(
    status: int,
    value: Any,
    description: str = "Example answer",
    *,
    data: Any = None,
    media_type: str = "application/json",
) -> dict[int, ResponseSpec]:
    """An OpenAPI response entry with one example; its schema is ``data`` (a shared DTO) if
    given, else a JSON object (or an array when the example is a list)."""
    if data is None:
        data = list[dict[str, Any]] if isinstance(value, list) else dict[str, Any]
    return {
        status: ResponseSpec(
            data_container=data,
            generate_examples=False,
            description=description,
            media_type=media_type,
            examples=[Example(summary=description, value=value)],
        )
    }


ERROR_EXAMPLE = {"error": {"code": "forbidden", "message": "…", "details": None}}
