"""Every call the web app makes to Ring goes through here: the public gateway API over HTTP.

The web app is a client app like any other (it never reaches an internal service). This module
is the only one that knows URLs, bearer tokens and the ``{"error": {code, message, details}}``
shape, so it can be swapped for the typed client package without touching the pages.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

#: Timeout of one gateway call (uploads included).
TIMEOUT = httpx.Timeout(30.0, connect=3.0)


class ApiError(Exception):
    """The gateway refused a call: its status, stable ``code``, message and details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def field_errors(self) -> dict[str, str]:
        """Field name → message for a ``validation_failed`` answer (empty otherwise)."""
        fields: dict[str, str] = {}
        if isinstance(self.details, list):
            for item in self.details:
                if isinstance(item, Mapping) and isinstance(item.get("key"), str):
                    fields[item["key"]] = str(item.get("message", ""))
        return fields


class SignedOut(Exception):
    """The session's tokens are gone or no longer accepted: the user must sign in again."""


#: A multipart file part: (field name, (file name, content, content type)).
FilePart = tuple[str, tuple[str, bytes, str]]


@dataclass(frozen=True)
class Binary:
    """A downloaded file (voucher or evidence)."""

    content: bytes
    content_type: str


class Gateway:
    """The public API as the signed-in user of one browser session.

    ``session`` is the (encrypted cookie) session of the browser: it holds the user's access and
    refresh tokens, which this class rotates when the access token expires.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        session: MutableMapping[str, Any],
        *,
        may_refresh: bool = True,
    ) -> None:
        self._client = client
        self._session = session
        self._may_refresh = may_refresh

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Sequence[FilePart] | None = None,
        data: Mapping[str, str] | None = None,
        idempotent: bool = False,
    ) -> Any:
        """Call ``path`` with the user's token; the decoded JSON answer (``None`` if empty).

        Raises:
            ApiError: the gateway answered 4xx/5xx (or could not be reached: 503).
            SignedOut: no session, or its refresh token was refused.
        """
        response = await self._send(method, path, json, params, files, data, idempotent)
        return _decoded(response)

    async def download(self, path: str) -> Binary:
        """GET a file with the user's token."""
        response = await self._send("GET", path, None, None, None, None, False)
        if response.status_code >= 400:
            _decoded(response)
        return Binary(response.content, response.headers.get("content-type", ""))

    async def _send(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, Any] | None,
        files: Sequence[FilePart] | None,
        data: Mapping[str, str] | None,
        idempotent: bool,
    ) -> httpx.Response:
        access = self._session.get("access_token")
        if not access:
            raise SignedOut
        headers = {"Idempotency-Key": str(uuid.uuid4())} if idempotent else {}
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(2):
            headers["Authorization"] = f"Bearer {self._session['access_token']}"
            try:
                response = await self._client.request(
                    method,
                    path,
                    json=json,
                    params=clean,
                    files=list(files) if files else None,
                    data=dict(data) if data else None,
                    headers=headers,
                )
            except httpx.HTTPError as error:
                raise _unreachable(error) from None
            if response.status_code == 401 and attempt == 0 and self._may_refresh:
                await self._refresh()
                continue
            if response.status_code == 401:
                raise SignedOut
            return response
        raise SignedOut  # pragma: no cover - the loop always returns or raises

    async def _refresh(self) -> None:
        refresh = self._session.get("refresh_token")
        if not refresh:
            raise SignedOut
        try:
            response = await self._client.post("/v1/auth/refresh", json={"refresh_token": refresh})
        except httpx.HTTPError as error:
            raise _unreachable(error) from None
        if response.status_code != 200:
            self._session.clear()
            raise SignedOut
        store_tokens(self._session, response.json())


class PublicGateway:
    """The calls made before signing in (register, login) and to end a session."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def register(self, email: str, password: str, role: str, display_name: str) -> None:
        """Create a Party A or Party B account."""
        body = {"email": email, "password": password, "role": role, "display_name": display_name}
        await self._post("/v1/auth/register", body)

    async def login(self, email: str, password: str) -> dict[str, Any]:
        """The gateway's token pair for these credentials."""
        tokens: dict[str, Any] = await self._post(
            "/v1/auth/login", {"email": email, "password": password}
        )
        return tokens

    async def logout(self, refresh_token: str) -> None:
        """End the session of ``refresh_token`` at the gateway (best effort)."""
        try:
            await self._client.post("/v1/auth/logout", json={"refresh_token": refresh_token})
        except httpx.HTTPError:
            return

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            response = await self._client.post(path, json=body)
        except httpx.HTTPError as error:
            raise _unreachable(error) from None
        return _decoded(response)


def store_tokens(session: MutableMapping[str, Any], tokens: Mapping[str, Any]) -> None:
    """Keep a token pair from login or refresh in the session."""
    session["access_token"] = tokens["access_token"]
    session["refresh_token"] = tokens["refresh_token"]


def _unreachable(error: httpx.HTTPError) -> ApiError:
    return ApiError(503, "upstream_unavailable", f"the gateway cannot be reached: {error}")


def _decoded(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            error = response.json()["error"]
            raise ApiError(
                response.status_code,
                str(error.get("code", f"http_{response.status_code}")),
                str(error.get("message", "")),
                error.get("details"),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ApiError(
                response.status_code, f"http_{response.status_code}", response.text[:200]
            ) from None
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise ApiError(502, "bad_gateway_answer", "the gateway answered with no JSON") from None
