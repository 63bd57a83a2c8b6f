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
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.params import Parameter
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import ASGIApp, ExceptionHandlersMap, Message, Receive, Scope, Send
from opentelemetry import propagate, trace

from ring_runtime.context import causing
from ring_runtime.freshness import CatchingUp
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
_tracer = trace.get_tracer("ring.http")


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
    code = "not_found" if isinstance(exc, NotFoundException) else f"http_{exc.status_code}"
    return error_response(exc.status_code, code, exc.detail, exc.extra or None)


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


async def refuse_nul(request: Request[Any, Any, Any]) -> None:
    """``before_request``: a NUL character in the query string or in a JSON body is a 400.

    PostgreSQL ``text`` cannot hold NUL. Found by schemathesis: ``?status=%00`` reached a
    read-model query and came back as a 500; a NUL in a JSON field (a task title) would be
    stored in an event and then fail every projection that copies it into a text column.
    """
    for key, value in request.query_params.multi_items():
        if "\x00" in key or "\x00" in value:
            raise ValidationException(
                "query parameters may not contain NUL characters",
                extra=[{"key": key.replace("\x00", ""), "source": "query"}],
            )
    if (
        request.method not in ("POST", "PUT", "PATCH")
        or request.content_type[0] != "application/json"
    ):
        return
    body = await request.body()
    if b"\\u0000" not in body and b"\x00" not in body:
        return
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return  # the handler reports the malformed body
    if _holds_nul(decoded):
        raise ValidationException(
            "text in the body may not contain NUL characters", extra=[{"source": "body"}]
        )


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
            resource are a 400 everywhere.
    """
    domain_statuses = {
        InvalidCursor: HTTP_400_BAD_REQUEST,
        InvalidWaitFor: HTTP_400_BAD_REQUEST,
        **domain_statuses,
    }

    mapped = status_of(domain_statuses)

    def domain(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        status = mapped(exc) or HTTP_400_BAD_REQUEST
        code = getattr(exc, "code", "domain_error")
        return error_response(status, code, str(exc) or code, getattr(exc, "details", None))

    def unauthenticated(_: Request[Any, Any, Any], exc: ActorRequired) -> Response[Any]:
        return error_response(401, exc.code, str(exc))

    handlers: ExceptionHandlersMap = {
        ActorRequired: unauthenticated,
        CatchingUp: _catching_up,
        ValidationException: _validation,
        HTTPException: _http,
        IntegrityError: _conflict,
        HTTP_404_NOT_FOUND: _http,
        Exception: _internal,
    }
    for cls in domain_statuses:
        handlers[cls] = domain
    return handlers


#: Header carrying the authenticated user id from the gateway to internal services.
ACTOR_HEADER = "X-Ring-Actor"


class ActorRequired(Exception):
    """An internal endpoint was called without the acting user's id."""

    code = "actor_required"


def actor_id(request: Request[Any, Any, Any]) -> UUID:
    """The acting user's id from :data:`ACTOR_HEADER` (set by the gateway after authentication).

    Raises:
        ActorRequired: the header is missing or not a UUID.
    """
    raw = request.headers.get(ACTOR_HEADER)
    try:
        return UUID(raw) if raw else _missing_actor()
    except ValueError:
        raise ActorRequired(f"{ACTOR_HEADER} must be a user id (UUID), got {raw!r}") from None


def _missing_actor() -> UUID:
    raise ActorRequired(f"header {ACTOR_HEADER} with the acting user's id is required")


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

        carrier = {"traceparent": headers.get(b"traceparent", b"").decode("latin-1")}
        name = f"{scope.get('method', 'GET')} {scope.get('path', '')}"
        with (
            _tracer.start_as_current_span(
                name, context=propagate.extract(carrier), kind=trace.SpanKind.SERVER
            ),
            causing(correlation_id=correlation_id, causation_id=request_id),
        ):
            await app(scope, receive, send_with_header)

    return middleware
