"""How well a provider fits a task: one score, used both ways round.

``recommendations`` ranks tasks for one provider; ``candidates`` ranks providers for one task.
Both use :func:`fit`, a number from 0 to 100::

    fit = 100 * (0.45*skills + 0.20*verification + 0.25*record + 0.10*feasibility)

``skills``
    Share of the task's required skills the provider has (case-insensitive):
    ``|required ∩ offered| / |required|``; 1 when the task requires none.
``verification``
    1 for a verified provider, 0.25 while a qualification is pending, 0 otherwise.
``record``
    The performance record, smoothed so a newcomer starts in the middle (0.5) rather than at
    the top or bottom: ``0.4*approval + 0.3*on_time + 0.3*completion - 0.5*disputes_lost_rate``,
    clamped to 0..1, where ``approval = (approvals + 1) / (approvals + rejections + 2)``,
    ``on_time = (on_time + 1) / (submitted + 2)``, ``completion = (completed + 1) / (taken + 2)``
    and ``disputes_lost_rate = disputes_lost / max(taken, 1)``.
``feasibility``
    Can the provider make the deadline? ``hours_left / expected_hours`` clamped to 0..1, where
    ``expected_hours`` is the provider's average time from acceptance to submission, or
    :data:`DEFAULT_TURNAROUND_HOURS` without history. A passed deadline scores 0.

Ties are broken by the earlier deadline (tasks) and then by id, so a ranking is stable.
Pure functions: no I/O, the instant ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import msgspec

from ring_matching.domain import Verification

#: Weights of the four parts; they sum to 1.
SKILLS_WEIGHT = 0.45
VERIFICATION_WEIGHT = 0.20
RECORD_WEIGHT = 0.25
FEASIBILITY_WEIGHT = 0.10
#: Verification part of a provider whose qualification waits for review.
PENDING_VERIFICATION = 0.25
#: Expected hours from acceptance to submission for a provider without history.
DEFAULT_TURNAROUND_HOURS = 48.0


class RecordFigures(msgspec.Struct, frozen=True, kw_only=True):
    """The counts of a performance record the score uses."""

    orders_taken: int = 0
    orders_completed: int = 0
    approvals: int = 0
    rejections: int = 0
    submitted: int = 0
    on_time: int = 0
    disputes_lost: int = 0
    average_submit_seconds: float | None = None


@dataclass(frozen=True)
class ProviderProfile:
    """What the score knows about a provider."""

    provider_id: UUID
    verification: str
    skills: frozenset[str]
    record: RecordFigures


@dataclass(frozen=True)
class Opening:
    """What the score knows about a task with a free slot."""

    task_id: UUID
    required_skills: frozenset[str]
    deadline: datetime


class Fit(msgspec.Struct, frozen=True, kw_only=True):
    """A score (0..100) and its four parts (each 0..1)."""

    score: float
    skills: float
    verification: float
    record: float
    feasibility: float


def fit(provider: ProviderProfile, task: Opening, now: datetime) -> Fit:
    """How well ``provider`` fits ``task`` at ``now`` (see the module docstring)."""
    parts = {
        "skills": skills_fit(provider.skills, task.required_skills),
        "verification": verification_fit(provider.verification),
        "record": record_fit(provider.record),
        "feasibility": feasibility(provider.record, task.deadline, now),
    }
    total = (
        SKILLS_WEIGHT * parts["skills"]
        + VERIFICATION_WEIGHT * parts["verification"]
        + RECORD_WEIGHT * parts["record"]
        + FEASIBILITY_WEIGHT * parts["feasibility"]
    )
    return Fit(score=round(100 * total, 2), **{k: round(v, 4) for k, v in parts.items()})


def rank_tasks(
    provider: ProviderProfile, tasks: Iterable[Opening], now: datetime
) -> list[tuple[Opening, Fit]]:
    """``tasks`` best first for ``provider``."""
    scored = [(task, fit(provider, task, now)) for task in tasks]
    return sorted(scored, key=lambda pair: (-pair[1].score, pair[0].deadline, pair[0].task_id))


def rank_providers(
    task: Opening, providers: Iterable[ProviderProfile], now: datetime
) -> list[tuple[ProviderProfile, Fit]]:
    """``providers`` best first for ``task``."""
    scored = [(provider, fit(provider, task, now)) for provider in providers]
    return sorted(scored, key=lambda pair: (-pair[1].score, pair[0].provider_id))


def skills_fit(offered: frozenset[str], required: frozenset[str]) -> float:
    """Share of the required skills on offer; 1 when nothing is required."""
    if not required:
        return 1.0
    return len(required & offered) / len(required)


def verification_fit(verification: str) -> float:
    """1 verified, 0.25 pending, 0 otherwise."""
    if verification == Verification.VERIFIED:
        return 1.0
    return PENDING_VERIFICATION if verification == Verification.PENDING else 0.0


def record_fit(record: RecordFigures) -> float:
    """The smoothed performance record, 0..1 (0.5 for a newcomer)."""
    approval = (record.approvals + 1) / (record.approvals + record.rejections + 2)
    on_time = (record.on_time + 1) / (record.submitted + 2)
    completion = (record.orders_completed + 1) / (record.orders_taken + 2)
    disputes = record.disputes_lost / max(record.orders_taken, 1)
    return _clamp(0.4 * approval + 0.3 * on_time + 0.3 * completion - 0.5 * disputes)


def feasibility(record: RecordFigures, deadline: datetime, now: datetime) -> float:
    """Hours left over the hours the provider usually needs, 0..1."""
    hours_left = (deadline - now).total_seconds() / 3600
    if hours_left <= 0:
        return 0.0
    seconds = record.average_submit_seconds
    expected = seconds / 3600 if seconds else DEFAULT_TURNAROUND_HOURS
    return _clamp(hours_left / expected)


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))
