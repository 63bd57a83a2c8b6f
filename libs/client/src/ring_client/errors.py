"""Exceptions of the client, one class per kind of answer a caller handles differently.

Every error answer of the API is ``{"error": {"code", "message", "details"}}`` with a stable
``code`` (``provider_not_verified``, ``insufficient_funds``, ...): :class:`ApiError` carries it
with the HTTP status, so callers branch on ``error.code`` and catch by class for the status
family (``except NotFound``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import msgspec


class RingError(Exception):
    """Base of every exception raised by ``ring_client``."""


class ApiError(RingError):
    """The API answered with an error.

    Attributes:
        status: the HTTP status.
        code: the API's stable error code (``http_<status>`` if the body had none).
        message: the API's human-readable message.
        details: code-specific details (often ``None``).
        retry_after: seconds the answer asked to wait before retrying, if it said.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after


class BadRequest(ApiError):
    """400: the request is malformed (``validation_failed``, ``invalid_cursor``, ...)."""


class Unauthorized(ApiError):
    """401: no valid token, wrong credentials, or a refresh token used twice (sign in again)."""


class Forbidden(ApiError):
    """403: the caller's role or identity may not do this."""


class NotFound(ApiError):
    """404: no such resource, or not visible to the caller."""


class Conflict(ApiError):
    """409: conflicts with the current state, or the same Idempotency-Key is in flight."""


class Unprocessable(ApiError):
    """422: not allowed in the current state, or an Idempotency-Key reused with another body."""


class RateLimited(ApiError):
    """429: too many attempts; see ``retry_after``."""


class ServiceUnavailable(ApiError):
    """503: a service the operation needs did not answer (retried first, see ``Retries``)."""


class ServerError(ApiError):
    """Any other 5xx."""


class RingConnectionError(RingError):
    """The gateway could not be reached (after the retries that were safe to make)."""


class WaitTimeout(RingError):
    """A ``wait_for_*`` helper gave up before the resource reached the status it waited for."""


class InvalidSignature(RingError):
    """A webhook delivery's ``Ring-Signature`` does not verify: do not trust the body.

    Attributes:
        reason: ``malformed``, ``expired`` (timestamp outside the tolerance) or ``mismatch``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Unprocessable,
    429: RateLimited,
    503: ServiceUnavailable,
}


class _Error(msgspec.Struct):
    code: str
    message: str = ""
    details: Any = None


class _ErrorBody(msgspec.Struct):
    error: _Error


_ERROR_DECODER = msgspec.json.Decoder(_ErrorBody)


def error_for(response: httpx.Response) -> ApiError:
    """The exception for an error ``response`` (any status of 400 and above)."""
    status = response.status_code
    try:
        error = _ERROR_DECODER.decode(response.content).error
        code, message, details = error.code, error.message, error.details
    except msgspec.DecodeError:
        code, message, details = f"http_{status}", response.text[:500], None
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    return cls(status, code, message, details, retry_after(response))


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` of ``response`` in seconds (delta-seconds or an HTTP date)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    try:
        now = parsedate_to_datetime(response.headers["date"])
    except (KeyError, TypeError, ValueError):
        now = datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())
