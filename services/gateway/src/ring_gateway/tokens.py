"""Bearer tokens: short-lived access JWTs and longer-lived refresh JWTs (HS256 only).

Every token carries ``iss``, ``aud``, ``iat``, ``exp``, ``sub`` (user id), ``role``, a ``jti``
and its type ``typ`` (``access`` or ``refresh``); verification accepts only ``HS256`` (no
``none``, no algorithm confusion) and checks all of them, so a refresh token is never accepted
as an access token nor the other way round.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import jwt

from ring_gateway.config import GatewayConfig
from ring_gateway.domain import Role

#: The only algorithm a token may be signed with.
ALGORITHMS = ["HS256"]


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    user_id: UUID
    role: Role


@dataclass(frozen=True)
class TokenPair:
    """What a successful login or refresh returns."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int


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

    def issue(self, principal: Principal, now: datetime | None = None) -> TokenPair:
        """A new access and refresh token for ``principal``."""
        now = now or datetime.now(UTC)
        return TokenPair(
            access_token=self._encode(principal, "access", now, self.access_lifetime),
            refresh_token=self._encode(principal, "refresh", now, self.refresh_lifetime),
            expires_in=int(self.access_lifetime.total_seconds()),
            refresh_expires_in=int(self.refresh_lifetime.total_seconds()),
        )

    def verify(self, token: str, kind: str = "access") -> Principal:
        """The principal of a valid token of type ``kind``.

        Raises:
            InvalidToken: anything is wrong with the token (the message says what, briefly).
        """
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "typ", "role"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.PyJWTError as error:
            raise InvalidToken(f"invalid token: {error}") from None
        if claims.get("typ") != kind:
            raise InvalidToken(f"expected a {kind} token")
        try:
            return Principal(user_id=UUID(claims["sub"]), role=Role(claims["role"]))
        except (ValueError, TypeError):
            raise InvalidToken("invalid token subject or role") from None

    def _encode(self, principal: Principal, kind: str, now: datetime, life: timedelta) -> str:
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(principal.user_id),
            "role": str(principal.role),
            "typ": kind,
            "iat": int(now.timestamp()),
            "exp": int((now + life).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHMS[0])
