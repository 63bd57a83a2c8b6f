"""The gateway's own request and response bodies (accounts and tokens).

Requests list exactly what a client may set and refuse unknown fields (no mass assignment).
The bodies forwarded to a service are declared once, in :mod:`ring_contracts`.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec

Email = Annotated[
    str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=256)]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class RegisterRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new account. Admins are created with ``ring admin create``, never here."""

    email: Email
    password: Password
    role: Literal["party_a", "party_b"]
    display_name: DisplayName


class LoginRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Credentials."""

    email: Annotated[str, msgspec.Meta(max_length=254)]
    password: Annotated[str, msgspec.Meta(max_length=256)]


class RefreshRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A refresh token from login or an earlier refresh."""

    refresh_token: Annotated[str, msgspec.Meta(max_length=4096)]


class LogoutRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The refresh token of the session to end; ``all_sessions`` ends every session of its user."""

    refresh_token: Annotated[str, msgspec.Meta(max_length=4096)]
    all_sessions: bool = False


class Registered(msgspec.Struct, frozen=True, kw_only=True):
    """The new user's id."""

    id: UUID


class Tokens(msgspec.Struct, frozen=True, kw_only=True):
    """Bearer tokens: send ``Authorization: Bearer <access_token>``."""

    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class Me(msgspec.Struct, frozen=True, kw_only=True):
    """The caller's profile. ``verification`` is the provider status for Party B
    (``unsubmitted``, ``pending``, ``verified``, ``rejected``; ``unknown`` if the matching service
    is unreachable) and ``not_applicable`` otherwise."""

    id: UUID
    role: str
    email: str
    display_name: str
    verification: str
