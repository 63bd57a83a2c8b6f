"""The HTTP error model every Ring service shares.

Errors are ``{"error": {"code": ..., "message": ..., "details": ...}}`` with a stable ``code``.
Domain exceptions carry their ``code`` as a class attribute; each service maps its exception
classes to HTTP statuses once, in :func:`exception_handlers`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Annotated, Any
from uuid import UUID, uuid4

import msgspec
from eventsourcing.persistence import IntegrityError
from litestar import MediaType, Request, Response
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Parameter
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import (
    ASGIApp,
    ExceptionHandlersMap,
    Guard,
    Message,
    Receive,
    Scope,
    Send,
)

from ring_runtime.concurrency import ConcurrentUpdate
from ring_runtime.context import causing
from ring_runtime.freshness import CatchingUp
from ring_runtime.identity import ASSERTION_HEADER, Actor, AssertionVerifier, InvalidAssertion
from ring_runtime.long_poll import InvalidWaitFor
from ring_runtime.paging import InvalidCursor
from ring_runtime.resilience import is_outage

log = logging.getLogger("ring.http")

#: The ``cursor`` query parameter of a paged list: the ``next_cursor`` of the previous page.
Cursor = Annotated[
    str | None,
    Parameter(max_length=500, description="`next_cursor` of the previous page; omit for the first"),
]
#: The ``limit`` query parameter of a paged (or top-N) list.
Limit = Annotated[int, Parameter(ge=1, le=100)]


def error_response(status: int, code: str, message: str, details: Any = None) -> Response[Any]:
    """A JSON error response in Ring's error model."""
    return Response(
        {"error": {"code": code, "message": message, "details": details}},
        status_code=status,
        media_type=MediaType.JSON,
    )


def _validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    return error_response(HTTP_400_BAD_REQUEST, "validation_failed", exc.detail, exc.extra)


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own HTTP errors in Ring's error model, with their headers (a 405 names the
    methods the path allows in ``Allow``)."""
    code = "not_found" if isinstance(exc, NotFoundException) else f"http_{exc.status_code}"
    response = error_response(exc.status_code, code, exc.detail, exc.extra or None)
    response.headers.update(exc.headers or {})
    return response


def _conflict(_: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    return error_response(
        HTTP_409_CONFLICT,
        "concurrent_modification",
        "the resource was changed by another request; read it again and retry",
    )


#: Seconds a client is asked to wait when a dependency of the service is down.
OUTAGE_RETRY_AFTER_SECONDS = 2


def _internal(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if is_outage(exc):  # PostgreSQL or the broker is down: nothing happened, come back later
        log.warning("dependency unavailable: %r", exc)
        response = error_response(
            HTTP_503_SERVICE_UNAVAILABLE,
            "dependency_unavailable",
            "a dependency of the service is unavailable; retry later",
        )
        response.headers["Retry-After"] = str(OUTAGE_RETRY_AFTER_SECONDS)
        return response
    log.exception("unhandled error", exc_info=exc)
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "internal error")


#: Media types a request body may have: JSON, or multipart for file uploads.
BODY_MEDIA_TYPES = frozenset({"application/json", "multipart/form-data"})


class UnsupportedMediaType(Exception):
    """A request body that is neither JSON nor a multipart upload."""

    code = "unsupported_media_type"


async def screen_request(request: Request[Any, Any, Any]) -> None:
    """``before_request`` of every service and the gateway: refuse what no handler may see.

    - A NUL character in the query string or in a JSON body is a 400. PostgreSQL ``text``
      cannot hold NUL. Found by schemathesis: ``?status=%00`` reached a read-model query and
      came back as a 500; a NUL in a JSON field (a task title) would be stored in an event and
      then fail every projection that copies it into a text column.
    - A body that is neither ``application/json`` nor ``multipart/form-data`` is a 415 (JSON
      sent as ``text/plain`` used to be parsed anyway, past the NUL check).
    - JSON nested deeper than the decoder's recursion limit (about 1,000 levels) is a 400,
      not a ``RecursionError`` and a 500; this runs before authentication, like the parsing.
    - A JSON value of another type than the body's Struct declares is a 400, even where
      litestar's lenient conversion would accept it (:func:`_check_exact_types`).
    """
    for key, value in request.query_params.multi_items():
        if "\x00" in key or "\x00" in value:
            raise ValidationException(
                "query parameters may not contain NUL characters",
                extra=[{"key": key.replace("\x00", ""), "source": "query"}],
            )
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    body = await request.body()
    if not body:
        return
    media_type = request.content_type[0]
    if media_type not in BODY_MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"a request body must be application/json (or multipart/form-data for uploads), "
            f"not {media_type or 'untyped'}"
        )
    if media_type != "application/json":
        return
    try:
        decoded = msgspec.json.decode(body)
    except RecursionError:
        raise ValidationException(
            "the JSON body is nested too deeply", extra=[{"source": "body"}]
        ) from None
    except msgspec.DecodeError:
        return  # the handler reports the malformed body
    if _holds_nul(decoded):
        raise ValidationException(
            "text in the body may not contain NUL characters", extra=[{"source": "body"}]
        )
    _check_exact_types(request.route_handler, body)


def _check_exact_types(handler: BaseRouteHandler, body: bytes) -> None:
    """Refuse a JSON body whose values only *convert* to the declared types.

    Litestar converts request bodies with ``strict=False``, so ``"100"`` and ``1000.0`` became
    an ``amount_minor`` of 100 and 1000, and ``"true"`` a boolean (issue 11, API review). An
    amount is a JSON integer, full stop: a body that only a lenient conversion accepts is a
    400 here. A body that fails either way is left to the handler, which reports it as usual.
    """
    declared = _declared_body(handler)
    if declared is None:
        return
    try:
        msgspec.json.decode(body, type=declared, strict=True)
    except msgspec.ValidationError as error:
        try:
            msgspec.json.decode(body, type=declared, strict=False)
        except msgspec.ValidationError:
            return
        message, _, where = str(error).partition(" - at `$.")
        raise ValidationException(
            f"{message}: send every value as its declared JSON type (no quoted numbers, "
            "no fractions for integers)",
            extra=[{"key": where.rstrip("`"), "source": "body", "message": message}],
        ) from None


def _declared_body(handler: BaseRouteHandler) -> type[msgspec.Struct] | None:
    parameter = handler.parsed_fn_signature.parameters.get("data")
    if parameter is None:
        return None
    declared = parameter.annotation
    if isinstance(declared, type) and issubclass(declared, msgspec.Struct):
        return declared
    return None


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def status_of(
    domain_statuses: Mapping[type[Exception], int],
) -> Callable[[BaseException], int | None]:
    """The HTTP status a raised exception is answered with, from a service's domain mapping
    (``None`` for exceptions the mapping does not name)."""

    def status(exc: BaseException) -> int | None:
        for cls in type(exc).__mro__:
            if cls in domain_statuses:
                return domain_statuses[cls]
        return None

    return status


def _catching_up(_: Request[Any, Any, Any], exc: CatchingUp) -> Response[Any]:
    response = error_response(HTTP_503_SERVICE_UNAVAILABLE, exc.code, str(exc))
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def exception_handlers(domain_statuses: Mapping[type[Exception], int]) -> ExceptionHandlersMap:
    """Handlers for litestar's errors, optimistic-concurrency conflicts and domain errors.

    Args:
        domain_statuses: domain exception class → HTTP status; each class has a ``code``.
            A paging cursor the service did not issue and a `wait_for` naming no field of the
            resource are a 400 everywhere; a command that kept losing its concurrency race
            (:class:`~ring_runtime.concurrency.ConcurrentUpdate`) is a 409 everywhere.
    """
    domain_statuses = {
        InvalidCursor: HTTP_400_BAD_REQUEST,
        InvalidWaitFor: HTTP_400_BAD_REQUEST,
        ConcurrentUpdate: HTTP_409_CONFLICT,
        **domain_statuses,
    }

    mapped = status_of(domain_statuses)

    def domain(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        status = mapped(exc) or HTTP_400_BAD_REQUEST
        code = getattr(exc, "code", "domain_error")
        return error_response(status, code, str(exc) or code, getattr(exc, "details", None))

    def unauthenticated(_: Request[Any, Any, Any], exc: ActorRequired) -> Response[Any]:
        return error_response(401, exc.code, str(exc))

    def forbidden(_: Request[Any, Any, Any], exc: RoleForbidden) -> Response[Any]:
        return error_response(403, exc.code, str(exc))

    def unsupported(_: Request[Any, Any, Any], exc: UnsupportedMediaType) -> Response[Any]:
        return error_response(415, exc.code, str(exc))

    handlers: ExceptionHandlersMap = {
        ActorRequired: unauthenticated,
        CatchingUp: _catching_up,
        RoleForbidden: forbidden,
        UnsupportedMediaType: unsupported,
        ValidationException: _validation,
        HTTPException: _http,
        IntegrityError: _conflict,
        HTTP_404_NOT_FOUND: _http,
        Exception: _internal,
    }
    for cls in domain_statuses:
        handlers[cls] = domain
    return handlers


class ActorRequired(Exception):
    """An internal endpoint was called without a valid actor assertion from the gateway."""

    code = "actor_required"


class RoleForbidden(Exception):
    """The actor's role may not use this route (the service checks it too, not only the
    gateway)."""

    code = "forbidden"


_ACTOR_STATE = "ring_actor"


def current_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    """The actor the gateway vouches for in :data:`ASSERTION_HEADER`, verified once a request.

    Raises:
        ActorRequired: no assertion, or one the gateway's key did not sign.
    """
    cached = connection.state.get(_ACTOR_STATE)
    if isinstance(cached, Actor):
        return cached
    verifier: AssertionVerifier = connection.app.state.identity
    try:
        actor = verifier.verify(connection.headers.get(ASSERTION_HEADER))
    except InvalidAssertion as error:
        raise ActorRequired(str(error)) from None
    connection.state[_ACTOR_STATE] = actor
    return actor


def actor_id(request: Request[Any, Any, Any]) -> UUID:
    """The acting user's id (the ``actor`` dependency of every service handler).

    Raises:
        ActorRequired: no valid actor assertion.
    """
    return current_actor(request).user_id


def caller(request: Request[Any, Any, Any]) -> Actor:
    """The acting user and role (the ``caller`` dependency, for reads that depend on the role).

    Raises:
        ActorRequired: no valid actor assertion.
    """
    return current_actor(request)


def allow(*roles: str) -> Guard:
    """A guard: only an actor with one of ``roles`` may call the route.

    The gateway checks roles first; services check them again on their admin and
    state-changing routes, so a caller that reaches a service directly gains nothing.
    """

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        actor = current_actor(connection)
        if actor.role not in roles:
            raise RoleForbidden(f"this operation is for {', '.join(roles)}; you are {actor.role}")

    return guard


#: Request header naming the conversation a request belongs to (echoed in the response).
CORRELATION_HEADER = "X-Correlation-ID"


def correlation_middleware(app: ASGIApp) -> ASGIApp:
    """Record events caused by a request with its correlation id and a fresh causation id."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(CORRELATION_HEADER.lower().encode(), b"").decode("latin-1")
        request_id = str(uuid4())
        correlation_id = given[:200] if given else request_id

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (CORRELATION_HEADER.lower().encode(), correlation_id.encode("latin-1")),
                ]
            await send(message)

        actor = _vouched_actor(scope, headers.get(ASSERTION_HEADER.lower().encode()))
        with causing(
            correlation_id=correlation_id,
            causation_id=request_id,
            chosen=bool(given),
            actor=f"{actor.role}:{actor.user_id}" if actor is not None else None,
        ):
            await app(scope, receive, send_with_header)

    return middleware


def _vouched_actor(scope: Scope, assertion: bytes | None) -> Actor | None:
    """The actor a service request's assertion vouches for (None: none, or not valid; the
    route's guard answers that). Kept where :func:`current_actor` looks, so it is verified
    once a request; the gateway, which signs rather than verifies, gets None."""
    verifier = getattr(scope["app"].state, "identity", None)
    if assertion is None or not isinstance(verifier, AssertionVerifier):
        return None
    try:
        actor = verifier.verify(assertion.decode("latin-1"))
    except InvalidAssertion:
        return None
    scope.setdefault("state", {})[_ACTOR_STATE] = actor
    return actor


#: Headers on every response: no MIME sniffing, no referrer leaking ids in URLs.
_ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))
#: On HTML (the API docs pages): never framed, no plugins, no <base> games.
_HTML_POLICY = b"frame-ancestors 'none'; object-src 'none'; base-uri 'none'"
#: Paths whose answers carry credentials (tokens): never stored by a cache or the browser.
_NO_STORE_PREFIXES = ("/v1/auth/",)


def security_headers_middleware(app: ASGIApp) -> ASGIApp:
    """Add the security headers of every Ring HTTP answer (issue 11, item 15).

    ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` everywhere;
    ``Strict-Transport-Security`` when the request came over HTTPS (TLS terminates at the
    ingress, whose ``X-Forwarded-Proto`` uvicorn trusts from ``RING_TRUSTED_PROXIES``); a
    Content-Security-Policy on HTML; ``Cache-Control: no-store`` on ``/v1/auth/*`` answers,
    which carry tokens. A header the handler set itself is left alone.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        no_store = str(scope.get("path", "")).startswith(_NO_STORE_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                added = list(_ALWAYS)
                if https:
                    added.append((b"strict-transport-security", b"max-age=31536000"))
                if no_store:
                    added.append((b"cache-control", b"no-store"))
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    added.append((b"content-security-policy", _HTML_POLICY))
                message["headers"] = headers + [h for h in added if h[0] not in present]
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
