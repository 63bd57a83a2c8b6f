"""Public request and response bodies.

Requests list exactly what a client may set and refuse unknown fields (no mass assignment).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

Email = Annotated[
    str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=256)]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Text = Annotated[str, msgspec.Meta(max_length=10_000)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Skill = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
Currency = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Amount = Annotated[int, msgspec.Meta(gt=0, le=10**15)]


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


class QualificationRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A qualification for review."""

    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    skills: Annotated[list[Skill], msgspec.Meta(min_length=1, max_length=30)]


class ReasonRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A decision that must give a reason."""

    reason: Reason


class OptionalReasonRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A decision whose reason is optional."""

    reason: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class MoneyRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An amount in minor units of an ISO currency."""

    amount_minor: Amount
    currency: Currency


class TaskCreateRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What Party A may set when drafting a task."""

    title: Title
    description: Text = ""
    requirements: Text = ""
    acceptance_criteria: Text = ""
    deadline: datetime
    commission_minor: Annotated[int, msgspec.Meta(gt=0, le=10**12)]
    currency: Currency
    slots: Annotated[int, msgspec.Meta(ge=1, le=1000)]
    required_skills: Annotated[list[Skill], msgspec.Meta(max_length=20)] = []
    approval_required: bool = False


class ProgressRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A progress report."""

    percent: Annotated[int, msgspec.Meta(ge=0, le=100)]
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class MessageRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A message to the other party of an order."""

    body: Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]


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
