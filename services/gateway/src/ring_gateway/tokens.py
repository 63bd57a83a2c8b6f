"""Bearer tokens: short-lived access JWTs and longer-lived refresh JWTs (HS256 only).

Every token carries ``iss``, ``aud``, ``iat``, ``exp``, ``sub`` (user id), ``role``, a ``jti``
and its type ``typ`` (``access`` or ``refresh``); a refresh token also carries ``fam``, the
session family (one per login) it belongs to. Verification accepts only ``HS256`` (no ``none``,
no algorithm confusion) and checks all of them, so a refresh token is never accepted as an
access token nor the other way round. Whether a refresh token may still be used is decided by
the session store (:mod:`ring_gateway.sessions`), not here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt

from ring_gateway.config import GatewayConfig
from ring_gateway.domain import Role

#: The only algorithm a token may be signed with.
ALGORITHMS = ["HS256"]
_REQUIRED = ["exp", "iat", "iss", "aud", "sub", "typ", "role"]


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    user_id: UUID
    role: Role


@dataclass(frozen=True)
class RefreshClaims:
    """What a refresh token says about itself, and what the session store records about it."""

    token_id: str
    family: UUID
    principal: Principal
    expires_at: datetime


@dataclass(frozen=True)
class TokenPair:
    """What a successful login or refresh returns, and the refresh token's claims to record."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    refresh_claims: RefreshClaims


class InvalidToken(Exception):
    """A bearer token is missing, malformed, expired or not ours."""

    code = "invalid_token"


class TokenService:
    """Issues and verifies the gateway's tokens."""

    def __init__(self, config: GatewayConfig) -> None:
        self._secret = config.jwt_secret
        self._issuer = config.jwt_issuer
        self._audience = config.jwt_audience
        self.access_lifetime = timedelta(minutes=config.access_token_minutes)
        self.refresh_lifetime = timedelta(days=config.refresh_token_days)

    def issue(
        self, principal: Principal, family: UUID | None = None, now: datetime | None = None
    ) -> TokenPair:
        """A new access and refresh token for ``principal``.

        The refresh token belongs to session ``family``; ``None`` starts a new family (a login).
        """
        now = now or datetime.now(UTC)
        expires = now + self.refresh_lifetime
        refresh = RefreshClaims(
            token_id=uuid.uuid4().hex,
            family=family or uuid.uuid4(),
            principal=principal,
            expires_at=datetime.fromtimestamp(int(expires.timestamp()), UTC),
        )
        return TokenPair(
            access_token=self._encode(principal, "access", now, now + self.access_lifetime),
            refresh_token=self._encode(
                principal, "refresh", now, expires, jti=refresh.token_id, fam=str(refresh.family)
            ),
            expires_in=int(self.access_lifetime.total_seconds()),
            refresh_expires_in=int(self.refresh_lifetime.total_seconds()),
            refresh_claims=refresh,
        )

    def verify(self, token: str) -> Principal:
        """The principal of a valid access token.

        Raises:
            InvalidToken: anything is wrong with the token (the message says what, briefly).
        """
        return _principal(self._decode(token, "access", _REQUIRED))

    def verify_refresh(self, token: str) -> RefreshClaims:
        """The claims of a validly signed, unexpired refresh token (used or not: ask the store).

        Raises:
            InvalidToken: anything is wrong with the token (the message says what, briefly).
        """
        claims = self._decode(token, "refresh", [*_REQUIRED, "jti", "fam"])
        try:
            family = UUID(claims["fam"])
        except (ValueError, TypeError, AttributeError):
            raise InvalidToken("invalid token family") from None
        return RefreshClaims(
            token_id=str(claims["jti"]),
            family=family,
            principal=_principal(claims),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )

    def _decode(self, token: str, kind: str, required: list[str]) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": required},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.PyJWTError as error:
            raise InvalidToken(f"invalid token: {error}") from None
        if claims.get("typ") != kind:
            raise InvalidToken(f"expected a {kind} token")
        return claims

    def _encode(
        self, principal: Principal, kind: str, now: datetime, expires: datetime, **extra: str
    ) -> str:
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(principal.user_id),
            "role": str(principal.role),
            "typ": kind,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": uuid.uuid4().hex,
            **extra,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHMS[0])


def _principal(claims: dict[str, Any]) -> Principal:
    try:
        return Principal(user_id=UUID(claims["sub"]), role=Role(claims["role"]))
    except (ValueError, TypeError):
        raise InvalidToken("invalid token subject or role") from None
