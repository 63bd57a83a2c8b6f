"""``/v1/auth/*`` and ``/v1/me``: register, login, refresh, logout, profile."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Body, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from ring_gateway.api.schemas import (
    LoginRequest,
    LogoutRequest,
    Me,
    RefreshRequest,
    Registered,
    RegisterRequest,
)
from ring_gateway.api.schemas import Tokens as TokensView
from ring_gateway.api.support import Gateway, client_address, example
from ring_gateway.domain import Role
from ring_gateway.tokens import Principal, TokenPair
from ring_gateway.upstream import UpstreamUnavailable

_USER_ID = "0b7c8f1e-5a51-4c3e-8f0e-3d1f0b8f7a10"
_TOKENS = {
    "access_token": "eyJhbGciOiJIUzI1NiIs…",
    "token_type": "bearer",
    "expires_in": 900,
    "refresh_token": "eyJhbGciOiJIUzI1NiIs…",
    "refresh_expires_in": 1209600,
}
#: Logout answers 204 without a body, so its example is the request.
_LOGOUT = Body(
    examples=[
        Example(
            summary="End this session only",
            value={"refresh_token": "eyJhbGciOiJIUzI1NiIs…", "all_sessions": False},
        )
    ]
)


def _limit(request: Request[Any, Any, Any], gw: Gateway, email: str) -> None:
    """Charge the client IP's bucket and the bucket of this account from this IP."""
    client = client_address(request)
    account = gw.users.cipher.email_digest(email)
    gw.auth_limiter.hit(f"ip:{client}", f"account:{account}:{client}")


def _tokens(pair: TokenPair) -> TokensView:
    return TokensView(
        access_token=pair.access_token,
        token_type="bearer",  # noqa: S106 - the OAuth token type, not a secret
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
        refresh_expires_in=pair.refresh_expires_in,
    )


class AuthController(Controller):
    """Accounts and tokens (rate limited per client IP and per email)."""

    path = "/v1/auth"
    tags = ["auth"]

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        operation_id="Register",
        responses=example(201, {"id": _USER_ID}, "The new user's id"),
    )
    async def register(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[RegisterRequest],
        gw: NamedDependency[Gateway],
    ) -> Registered:
        """Create a Party A or Party B account (409 ``email_taken`` if the email is in use)."""
        _limit(request, gw, data.email)
        user_id = await asyncio.to_thread(
            gw.users.register, data.email, data.password, Role(data.role), data.display_name
        )
        return Registered(id=user_id)

    @post(
        "/login",
        status_code=HTTP_200_OK,
        operation_id="Login",
        responses=example(200, _TOKENS, "Access and refresh tokens"),
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginRequest],
        gw: NamedDependency[Gateway],
    ) -> TokensView:
        """Exchange email and password for tokens (401 ``invalid_credentials`` otherwise).

        Starts a new session: its refresh tokens are rotated on every refresh.
        """
        _limit(request, gw, data.email)
        user = await asyncio.to_thread(gw.users.authenticate, data.email, data.password)
        await asyncio.to_thread(
            gw.users.sign_in_from,
            user.id,
            client_address(request),
            request.headers.get("user-agent", ""),
        )
        pair = gw.tokens.issue(Principal(user_id=user.id, role=user.role))
        await gw.sessions.start(pair.refresh_claims)
        return _tokens(pair)

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        operation_id="RefreshTokens",
        responses=example(200, _TOKENS, "A fresh pair of tokens"),
    )
    async def refresh(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[RefreshRequest],
        gw: NamedDependency[Gateway],
    ) -> TokensView:
        """Exchange a refresh token, once, for a new access and refresh token.

        A refresh token presented a second time ends its whole session: 401
        ``refresh_token_reused``, sign in again. A revoked, unknown or expired one is 401
        ``invalid_token``.
        """
        gw.refresh_limiter.hit(f"ip:{client_address(request)}")
        presented = gw.tokens.verify_refresh(data.refresh_token)
        user = await asyncio.to_thread(gw.users.get_user, presented.principal.user_id)
        pair = gw.tokens.issue(Principal(user_id=user.id, role=user.role), presented.family)
        await gw.sessions.rotate(presented, pair.refresh_claims)
        return _tokens(pair)

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="Logout",
    )
    async def logout(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[LogoutRequest, _LOGOUT],
        gw: NamedDependency[Gateway],
    ) -> None:
        """End the session of a refresh token, or every session of its user (``all_sessions``).

        Idempotent: a token whose session has already ended still gets 204, as long as it is
        ours (401 ``invalid_token`` otherwise). Access tokens already issued stay valid until
        they expire (``expires_in``, 15 minutes by default).
        """
        gw.refresh_limiter.hit(f"ip:{client_address(request)}")
        presented = gw.tokens.verify_refresh(data.refresh_token)
        if data.all_sessions:
            await gw.sessions.end_all(presented.principal.user_id)
        else:
            await gw.sessions.end(presented.family)


@get(
    "/v1/me",
    operation_id="GetMe",
    tags=["auth"],
    responses=example(
        200,
        {
            "id": _USER_ID,
            "role": "party_b",
            "email": "bob@example.com",
            "display_name": "Bob",
            "verification": "verified",
        },
        "The caller's profile",
    ),
)
async def get_me(principal: NamedDependency[Principal], gw: NamedDependency[Gateway]) -> Me:
    """The caller's profile, role and (for Party B) verification status."""
    profile = await asyncio.to_thread(gw.users.profile, principal.user_id)
    verification = "not_applicable"
    if profile.role is Role.PARTY_B:
        verification = await _verification(gw, principal)
    return Me(
        id=profile.id,
        role=str(profile.role),
        email=profile.email,
        display_name=profile.display_name,
        verification=verification,
    )


async def _verification(gw: Gateway, principal: Principal) -> str:
    try:
        answer = await gw.upstreams.call(
            "matching", "GET", f"/providers/{principal.user_id}", actor=principal
        )
    except UpstreamUnavailable:
        return "unknown"
    if answer.status == 404:
        return "unsubmitted"
    if answer.status != 200:
        return "unknown"
    return str(answer.json().get("verification", "unknown"))
