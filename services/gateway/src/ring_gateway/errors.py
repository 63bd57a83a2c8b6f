"""Gateway errors a client can cause, and their HTTP statuses (mapped once, here)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.types import ExceptionHandlersMap

from ring_gateway.domain import (
    EmailTaken,
    InvalidCredentials,
    SelfDealingSuspected,
    UserNotFound,
    WeakPassword,
)
from ring_gateway.idempotency import IdempotencyKeyReused, RequestInProgress
from ring_gateway.ratelimit import RateLimited
from ring_gateway.tokens import InvalidToken
from ring_gateway.upstream import UpstreamUnavailable
from ring_runtime.http import OUTAGE_RETRY_AFTER_SECONDS, error_response, exception_handlers


class RoleForbidden(Exception):
    """The caller's role may not use this operation."""

    code = "forbidden"


class InvalidIdempotencyKey(Exception):
    """The ``Idempotency-Key`` header is missing where required, or malformed."""

    code = "invalid_idempotency_key"


class UnsupportedCurrency(Exception):
    """Money offered in a currency the platform does not accept (``RING_CURRENCIES``)."""

    code = "unsupported_currency"


ERROR_STATUSES: dict[type[Exception], int] = {
    EmailTaken: 409,
    WeakPassword: 400,
    InvalidCredentials: 401,
    UserNotFound: 401,
    RoleForbidden: 403,
    SelfDealingSuspected: 403,
    InvalidIdempotencyKey: 400,
    IdempotencyKeyReused: 422,
    UnsupportedCurrency: 422,
    RequestInProgress: 409,
    UpstreamUnavailable: 503,
}


def _unauthorized(_: Request[Any, Any, Any], exc: InvalidToken) -> Response[Any]:
    """401 with the token error's own code: ``invalid_token``, or ``refresh_token_reused``
    (:class:`~ring_gateway.sessions.RefreshTokenReused` is an :class:`InvalidToken`)."""
    response = error_response(401, exc.code, str(exc))
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def _rate_limited(_: Request[Any, Any, Any], exc: RateLimited) -> Response[Any]:
    response = error_response(429, exc.code, str(exc), {"retry_after": exc.retry_after})
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _unavailable(_: Request[Any, Any, Any], exc: UpstreamUnavailable) -> Response[Any]:
    response = error_response(503, exc.code, str(exc))
    response.headers["Retry-After"] = str(OUTAGE_RETRY_AFTER_SECONDS)
    return response


def gateway_exception_handlers() -> ExceptionHandlersMap:
    """The shared handlers plus the gateway's own errors."""
    handlers = exception_handlers(ERROR_STATUSES)
    handlers[UpstreamUnavailable] = _unavailable
    handlers[InvalidToken] = _unauthorized
    handlers[RateLimited] = _rate_limited
    return handlers
