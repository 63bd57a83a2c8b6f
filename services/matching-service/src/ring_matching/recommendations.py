"""Recommendations for a provider and ranked candidates for a task (formula: :mod:`ring_matching.domain.scoring`).

Reads the board, the provider directory and the performance records, builds scoring inputs and
ranks them. Only what could actually happen is ranked: open tasks the provider may take (not
blocked, deadline ahead, no slot held yet), and providers who are verified or pending, not
suspended and not blocked by the task's owner. At most ``max_scan`` newest open tasks
(``RING_MATCHING_MAX_SCAN``) are scored per recommendation request.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from ring_matching.application import Providers
from ring_matching.domain import NotYourself, TaskNotOnBoard
from ring_matching.domain.scoring import Fit, Opening, ProviderProfile, rank_providers, rank_tasks
from ring_matching.projections.board import BoardProjection, BoardTask
from ring_matching.projections.directory import ProviderDirectoryProjection
from ring_matching.projections.performance import (
    PerformanceProjection,
    PublicRecord,
)


class Recommendation(msgspec.Struct, frozen=True, kw_only=True):
    """A task recommended to a provider, with how well it fits."""

    task: BoardTask
    fit: Fit


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """A provider ranked for a task, with its qualification status and public record (no
    earnings: those are for the provider and admins)."""

    provider_id: UUID
    verification: str
    skills: list[str]
    fit: Fit
    record: PublicRecord


class Matchmaker:
    """Ranks tasks for providers and providers for tasks."""

    def __init__(
        self,
        providers: Providers,
        board: BoardProjection,
        directory: ProviderDirectoryProjection,
        performance: PerformanceProjection,
        max_scan: int,
    ) -> None:
        self.providers = providers
        self.max_scan = max_scan
        self.board = board
        self.directory = directory
        self.performance = performance

    def recommend(
        self, provider_id: UUID, actor_id: UUID, now: datetime, limit: int
    ) -> list[Recommendation]:
        """The best open tasks for the acting provider."""
        if actor_id != provider_id:
            raise NotYourself("recommendations are for the provider itself")
        provider = self.providers.get_provider(provider_id)
        record = self.performance.record(provider_id).figures()
        profile = ProviderProfile(
            provider_id=provider_id,
            verification=str(provider.verification),
            skills=frozenset(provider.skills),
            record=record,
        )
        excluded = self.directory.owners_blocking(provider_id)
        tasks = {t.id: t for t in self.board.open_for(provider_id, excluded, now, self.max_scan)}
        ranked = rank_tasks(profile, (_opening(task) for task in tasks.values()), now)
        return [Recommendation(task=tasks[o.task_id], fit=f) for o, f in ranked[:limit]]

    def candidates(
        self, task_id: UUID, actor_id: UUID, now: datetime, limit: int
    ) -> list[Candidate]:
        """The best providers for the acting owner's task."""
        task = self.board.get(task_id)
        if task is None:
            raise TaskNotOnBoard(f"task {task_id} is not on the board")
        if task.owner_id != actor_id:
            raise NotYourself("only the task's owner sees its candidates")
        provider_ids = self.directory.rankable_for(task.owner_id, task_id, self.board.orders)
        records = self.performance.records(provider_ids)
        figures = {pid: view.figures() for pid, view in records.items()}
        profiles = self.directory.profiles(provider_ids, figures)
        ranked = rank_providers(_opening(task), profiles, now)
        return [
            Candidate(
                provider_id=p.provider_id,
                verification=p.verification,
                skills=sorted(p.skills),
                fit=f,
                record=records[p.provider_id].public(),
            )
            for p, f in ranked[:limit]
        ]


def _opening(task: BoardTask) -> Opening:
    return Opening(
        task_id=task.id, required_skills=frozenset(task.required_skills), deadline=task.deadline
    )
