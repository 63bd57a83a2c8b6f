"""A provider's qualification, handed in for an admin's review (matching service)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from ring_contracts.tasks import Skill


class QualificationRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A qualification for review."""

    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    skills: Annotated[list[Skill], msgspec.Meta(min_length=1, max_length=30)]
