"""The fit score: fixtures whose right order is obvious, and the formula's parts."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import msgspec
import pytest

from ring_matching.domain.scoring import (
    Fit,
    Opening,
    ProviderProfile,
    RecordFigures,
    feasibility,
    fit,
    rank_providers,
    rank_tasks,
    record_fit,
)

from .conftest import NOW

STRONG = RecordFigures(
    orders_taken=20,
    orders_completed=20,
    approvals=20,
    rejections=0,
    submitted=20,
    on_time=20,
    average_submit_seconds=6 * 3600,
)
WEAK = RecordFigures(
    orders_taken=20,
    orders_completed=5,
    approvals=5,
    rejections=15,
    submitted=10,
    on_time=2,
    disputes_lost=4,
    average_submit_seconds=6 * 3600,
)


def _provider(
    verification: str = "verified",
    skills: tuple[str, ...] = ("labeling", "python"),
    record: RecordFigures | None = None,
) -> ProviderProfile:
    return ProviderProfile(
        provider_id=uuid4(),
        verification=verification,
        skills=frozenset(skills),
        record=record or RecordFigures(),
    )


def _task(skills: tuple[str, ...] = ("labeling", "python"), days: float = 7) -> Opening:
    return Opening(
        task_id=uuid4(), required_skills=frozenset(skills), deadline=NOW + timedelta(days=days)
    )


def _ids(ranked: list[tuple[ProviderProfile, Fit]]) -> list[UUID]:
    return [profile.provider_id for profile, _ in ranked]


def test_candidates_rank_by_skills_verification_and_record() -> None:
    task = _task()
    best = _provider(record=STRONG)
    newcomer = _provider()
    poor_record = _provider(record=WEAK)
    half_skills = _provider(skills=("labeling",), record=STRONG)
    pending = _provider(verification="pending")
    unskilled = _provider(skills=("welding",), record=STRONG)
    ranked = rank_providers(
        task, [unskilled, pending, half_skills, poor_record, newcomer, best], NOW
    )
    assert _ids(ranked) == [
        best.provider_id,
        newcomer.provider_id,
        poor_record.provider_id,
        half_skills.provider_id,  # verified with a strong record, but half the skills
        pending.provider_id,  # every skill, but cannot take orders before verification
        unskilled.provider_id,
    ]


def test_recommendations_prefer_matching_skills_and_a_reachable_deadline() -> None:
    provider = _provider(skills=("labeling",), record=STRONG)
    exact = _task(("labeling",))
    unrelated = _task(("welding",))
    too_soon = _task(("labeling",), days=0.05)  # 1.2 h left, the provider needs ~6 h
    ranked = rank_tasks(provider, [unrelated, too_soon, exact], NOW)
    assert [task.task_id for task, _ in ranked] == [
        exact.task_id,
        too_soon.task_id,
        unrelated.task_id,
    ]


def test_ties_go_to_the_earlier_deadline() -> None:
    provider = _provider()
    later, sooner = _task(days=30), _task(days=20)
    ranked = rank_tasks(provider, [later, sooner], NOW)
    assert [task.task_id for task, _ in ranked] == [sooner.task_id, later.task_id]


def test_a_perfect_fit_scores_100_and_parts_are_reported() -> None:
    result = fit(_provider(record=STRONG), _task(), NOW)
    assert result.skills == 1.0
    assert result.verification == 1.0
    assert result.feasibility == 1.0
    assert result.record == pytest.approx(0.4 * 21 / 22 + 0.3 * 21 / 22 + 0.3 * 21 / 22, 1e-3)
    assert 95 < result.score <= 100


def test_a_task_without_required_skills_fits_every_skill_set() -> None:
    assert fit(_provider(skills=("welding",)), _task(()), NOW).skills == 1.0


def test_newcomers_start_in_the_middle_and_lost_disputes_weigh() -> None:
    assert record_fit(RecordFigures()) == pytest.approx(0.5)
    assert record_fit(WEAK) < record_fit(RecordFigures()) < record_fit(STRONG)


def test_a_lost_dispute_ranks_a_provider_below_an_otherwise_identical_one() -> None:
    task = _task()
    # the lower id would win a tie, so only the lost dispute can put it second
    disputed = ProviderProfile(
        provider_id=UUID(int=1),
        verification="verified",
        skills=frozenset({"labeling", "python"}),
        record=msgspec.structs.replace(STRONG, disputes_lost=1),
    )
    clean = ProviderProfile(
        provider_id=UUID(int=2),
        verification="verified",
        skills=frozenset({"labeling", "python"}),
        record=STRONG,
    )
    ranked = rank_providers(task, [disputed, clean], NOW)
    assert _ids(ranked) == [clean.provider_id, disputed.provider_id]
    assert ranked[1][1].record == pytest.approx(ranked[0][1].record - 0.5 / 20, abs=1e-4)


def test_feasibility_compares_time_left_with_usual_turnaround() -> None:
    usual = RecordFigures(average_submit_seconds=10 * 3600)
    assert feasibility(usual, NOW + timedelta(hours=5), NOW) == pytest.approx(0.5)
    assert feasibility(usual, NOW + timedelta(hours=20), NOW) == 1.0
    assert feasibility(usual, NOW - timedelta(hours=1), NOW) == 0.0
    assert feasibility(RecordFigures(), NOW + timedelta(hours=24), NOW) == pytest.approx(0.5)
