"""What the sync and async clients share: requests, answers, retries, tokens, idempotency keys.

Nothing here sends a request or sleeps. An operation call is a :class:`Call` (built once, in
``ring_client._calls``); :class:`Engine` turns it into an ``httpx.Request`` and judges each
answer — decode it, raise the mapped exception, wait and retry, or refresh the token first —
so that ``Ring`` and ``AsyncRing`` only do the I/O (send, sleep) in their own style.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from ring_client.errors import RingConnectionError, WaitTimeout, error_for, retry_after

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

#: Where ``ring run`` serves the gateway on this machine.
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = "ring-client/0.1"
#: A file to upload: ``(file name, content, content type)``.
Upload = tuple[str, bytes, str]


@dataclass(frozen=True)
class Operation:
    """One operation of the OpenAPI document (the instances are generated in ``_openapi``)."""

    operation_id: str
    method: str
    path: str
    query: tuple[str, ...] = ()
    idempotency_key: bool = False
    body: tuple[str, ...] = ()


@dataclass(frozen=True)
class Call(Generic[T_co]):
    """One call of an operation, ready to send as often as retries need.

    ``decode`` turns a 2xx answer into the result; ``authenticated`` calls carry the bearer
    token; ``idempotency_key`` overrides the key drawn for operations that take one.
    """

    operation: Operation
    decode: Callable[[httpx.Response], T_co]
    path_params: Mapping[str, object] = field(default_factory=dict)
    query: Mapping[str, object] = field(default_factory=dict)
    json: object = None
    files: Sequence[tuple[str, Upload]] = ()
    form: Mapping[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None
    authenticated: bool = True

    def following(self, cursor: str | int) -> Call[T_co]:
        """The same call for the page after the one that answered ``next_cursor=cursor``."""
        return dataclasses.replace(self, query={**self.query, "cursor": cursor})


class Paged(Protocol[T_co]):
    """A page of a cursor-paged collection."""

    @property
    def items(self) -> Sequence[T_co]:
        """The page's entries."""
        ...

    @property
    def next_cursor(self) -> str | int | None:
        """Pass back as ``cursor`` for the next page; ``None`` on the last page."""
        ...


class HasStatus(Protocol):
    """A resource with a lifecycle status (tasks, orders, vouchers, disputes)."""

    @property
    def status(self) -> str:
        """The current status."""
        ...


class JsonAs(Generic[T_co]):
    """Decodes an answer's JSON body as ``kind`` (a model, ``list[...]`` or ``Page[...]``)."""

    def __init__(self, kind: type[T_co]) -> None:
        self.kind = kind
        self._decoder = msgspec.json.Decoder(kind)

    def __call__(self, response: httpx.Response) -> T_co:
        result: T_co = self._decoder.decode(response.content)
        return result


_decoders: dict[Any, JsonAs[Any]] = {}


def json_as(kind: type[T]) -> JsonAs[T]:
    """The (cached) decoder of answers of type ``kind``."""
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = JsonAs(kind)
    return decoder


def no_content(_: httpx.Response) -> None:
    """For answers without a body (204)."""


def content(response: httpx.Response) -> bytes:
    """The answer's raw body (file downloads)."""
    return response.content


@dataclass(frozen=True)
class Retries:
    """When an answer or a failed connection is retried.

    A 503 or 429 whose answer names a ``Retry-After`` is retried after that many seconds (the
    server said the request was not carried out), as long as it is at most ``max_delay``. A 503
    without one, and a connection broken mid-request, are retried with exponential backoff from
    ``backoff`` seconds only when repeating the request is safe: a ``GET``, or a request carrying
    an ``Idempotency-Key``. A connection that could not be opened is always retried (nothing was
    sent). At most ``attempts`` retries per call.
    """

    attempts: int = 3
    max_delay: float = 30.0
    backoff: float = 0.5


class IssuedTokens(Protocol):
    """What a login or refresh answers (``ring_client.Tokens``; a protocol here because the
    generated module imports this one)."""

    @property
    def access_token(self) -> str: ...
    @property
    def refresh_token(self) -> str: ...
    @property
    def expires_in(self) -> int: ...


class Credentials:
    """The caller's tokens, and when the access token is due for a refresh.

    The access token is refreshed ``skew`` seconds before it expires (half its lifetime at
    most), and once more when an answer says it is no longer valid (clock skew, a restart with
    new keys). ``on_tokens`` sees every new pair, so an app can persist the refresh token.
    """

    def __init__(
        self,
        access_token: str | None = None,
        refresh_token: str | None = None,
        expires_in: float | None = None,
        on_tokens: Callable[[IssuedTokens], None] | None = None,
        skew: float = 30.0,
    ) -> None:
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.on_tokens = on_tokens
        self.skew = skew
        self._refresh_at = self._due(expires_in)

    def _due(self, expires_in: float | None) -> float | None:
        if expires_in is None:
            return None
        return time.monotonic() + expires_in - min(self.skew, expires_in / 2)

    def update(self, tokens: IssuedTokens) -> None:
        """Use ``tokens`` from now on."""
        self.access_token = tokens.access_token
        self.refresh_token = tokens.refresh_token
        self._refresh_at = self._due(tokens.expires_in)
        if self.on_tokens is not None:
            self.on_tokens(tokens)

    def clear(self) -> None:
        """Forget the tokens (after logout)."""
        self.access_token = self.refresh_token = self._refresh_at = None

    def needs_refresh(self, rejected: str | None = None) -> bool:
        """Whether to refresh before the next call: the access token is due, or it is the
        ``rejected`` one an answer refused (and nobody has replaced it meanwhile)."""
        if self.refresh_token is None:
            return False
        if self.access_token is None:  # resumed from a refresh token alone
            return True
        if rejected is not None:
            return rejected == self.access_token
        return self._refresh_at is not None and time.monotonic() >= self._refresh_at


@dataclass(frozen=True)
class Done:
    """The call succeeded."""


@dataclass(frozen=True)
class Retry:
    """Send the call again after ``delay`` seconds."""

    delay: float


@dataclass(frozen=True)
class Refresh:
    """The access token ``rejected`` was refused: refresh it, then send the call again."""

    rejected: str


Step = Done | Retry | Refresh
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Engine:
    """Builds requests and judges answers for one client; holds its tokens and policies."""

    def __init__(self, base_url: str, credentials: Credentials, retries: Retries) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.retries = retries

    def idempotency_key(self, call: Call[Any]) -> str | None:
        """The key for every attempt of ``call``: drawn once, so a retry is recognised."""
        if call.idempotency_key is not None:
            return call.idempotency_key
        return str(uuid.uuid4()) if call.operation.idempotency_key else None

    def request(self, call: Call[Any], key: str | None) -> httpx.Request:
        """The HTTP request of one attempt of ``call``."""
        operation = call.operation
        unknown = set(call.query) - set(operation.query)
        if unknown:
            raise ValueError(f"{operation.operation_id} takes no query parameter {unknown}")
        kind = "multipart/form-data" if call.files else "application/json"
        if (call.files or call.json is not None) and kind not in operation.body:
            raise ValueError(f"{operation.operation_id} takes no {kind} body")
        path = operation.path.format_map(
            {name: quote(str(value), safe="") for name, value in call.path_params.items()}
        )
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if call.authenticated and self.credentials.access_token is not None:
            headers["Authorization"] = f"Bearer {self.credentials.access_token}"
        if key is not None:
            headers[IDEMPOTENCY_HEADER] = key
        params = {k: _query_value(v) for k, v in call.query.items() if v is not None}
        if call.files:
            return httpx.Request(
                operation.method,
                self.base_url + path,
                params=params,
                files=list(call.files),
                data=dict(call.form),
                headers=headers,
            )
        body = None
        if call.json is not None:
            body = msgspec.json.encode(call.json)
            headers["Content-Type"] = "application/json"
        return httpx.Request(
            operation.method, self.base_url + path, params=params, content=body, headers=headers
        )

    def judge(
        self,
        call: Call[Any],
        response: httpx.Response,
        attempt: int,
        key: str | None,
        *,
        may_refresh: bool,
    ) -> Step:
        """What to do with the answer to attempt number ``attempt`` (0 first) of ``call``;
        ``may_refresh`` is false once the call has refreshed the token (at most once per call).

        Raises:
            ApiError: the answer is an error that no retry or refresh can fix (its subclass
                for the status, carrying the API's code).
        """
        status = response.status_code
        if status < 400:
            return Done()
        if (
            status == 401
            and may_refresh
            and call.authenticated
            and self.credentials.refresh_token is not None
            and self._refreshable(response)
        ):
            sent = response.request.headers.get("authorization", "")
            return Refresh(sent.removeprefix("Bearer "))
        if status in (429, 503) and attempt < self.retries.attempts:
            wait = retry_after(response)
            if wait is not None and wait <= self.retries.max_delay:
                return Retry(wait)
            if wait is None and status == 503 and self._repeatable(call, key):
                return Retry(self._backoff(attempt))
        raise error_for(response)

    def reconnect(
        self, call: Call[Any], error: httpx.TransportError, attempt: int, key: str | None
    ) -> Retry:
        """Whether to retry after ``error`` sending attempt ``attempt`` of ``call``.

        Raises:
            RingConnectionError: not safe to repeat, or out of attempts.
        """
        nothing_sent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
        if attempt < self.retries.attempts and (nothing_sent or self._repeatable(call, key)):
            return Retry(self._backoff(attempt))
        raise RingConnectionError(
            f"{call.operation.method} {call.operation.path}: {error!r}"
        ) from error

    def _refreshable(self, response: httpx.Response) -> bool:
        """A 401 that a new access token can fix (not wrong credentials, not a reused refresh
        token, which ends the session)."""
        return error_for(response).code == "invalid_token"

    def _repeatable(self, call: Call[Any], key: str | None) -> bool:
        return call.operation.method in _SAFE_METHODS or key is not None

    def _backoff(self, attempt: int) -> float:
        return float(min(self.retries.backoff * 2**attempt, self.retries.max_delay))


#: Longest long-poll the gateway holds (``?wait_for=...&timeout=`` on reads that offer it).
LONG_POLL_SECONDS = 10.0
S = TypeVar("S", bound=HasStatus)


@dataclass(frozen=True)
class Next(Generic[S]):
    """Send ``call`` after ``delay`` seconds, then look again."""

    call: Call[S]
    delay: float


class StatusWait(Generic[S]):
    """Waiting, up to ``within`` seconds, until a resource read by ``call`` has one of
    ``statuses``.

    Where the read offers a long poll (its operation documents ``wait_for`` and ``timeout``) and
    one status is awaited, the server holds each read until the status is reached (at most
    :data:`LONG_POLL_SECONDS`); otherwise reads are spaced 0.1 s doubling to 2 s, so a wait is
    quick when the change is and cheap when it is not.
    """

    def __init__(self, call: Call[S], statuses: tuple[str, ...], within: float) -> None:
        self.call = call
        self.statuses = statuses
        self.within = within
        self.deadline = time.monotonic() + within
        self.delay = 0.1
        self.long_poll = len(statuses) == 1 and {"wait_for", "timeout"} <= set(call.operation.query)

    def after(self, current: S) -> Next[S] | None:
        """What to do after reading ``current``: nothing more (``None``) or the next read.

        Raises:
            WaitTimeout: the deadline passed first.
        """
        if current.status in self.statuses:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise WaitTimeout(
                f"still {current.status!r} after {self.within}s, waited for {self.statuses}"
            )
        if self.long_poll:
            query = {
                **self.call.query,
                "wait_for": f"status:{self.statuses[0]}",
                "timeout": round(min(left, LONG_POLL_SECONDS), 3),
            }
            return Next(dataclasses.replace(self.call, query=query), 0.0)
        delay, self.delay = min(self.delay, left), min(self.delay * 2, 2.0)
        return Next(self.call, delay)


def _query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
