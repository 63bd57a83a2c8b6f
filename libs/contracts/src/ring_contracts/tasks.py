"""Bodies the task service takes: drafting a task, reporting progress, writing to the other
party of an order."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from ring_contracts.money import Currency

Text = Annotated[str, msgspec.Meta(max_length=10_000)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Skill = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]


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
