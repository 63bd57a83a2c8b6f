"""Bodies the dispute service takes: opening a case, answering it, evidence, an admin's
resolution."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Statement = Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]
Category = Literal["quality", "not_delivered", "unfair_rejection", "fraud", "other"]
Sha256 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]


class DisputeRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A complaint about an order (``category`` defaults to ``other``)."""

    reason: Statement
    category: Category = "other"


class StatementRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The other party's answer to the complaint."""

    statement: Statement


class EvidenceRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A statement, optionally naming a file already uploaded to the case by its SHA-256."""

    statement: Statement
    sha256: Sha256 | None = None


class ResolutionRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An admin's decision; ``provider_share_percent`` (1..99) is required for ``split``."""

    outcome: Literal["release", "refund", "split"]
    provider_share_percent: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
