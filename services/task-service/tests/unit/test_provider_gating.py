"""``take_order`` refuses providers that are unverified, suspended or blocked by the owner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4

import pytest

from ring_task.application import Tasks
from ring_task.domain import OrderStatus, ProviderBlocked, ProviderNotVerified, ProviderSuspended
from ring_task.domain.providers import UNKNOWN, ProviderStanding


@dataclass
class FakeStandings:
    """In-memory provider standing, as the matching events would have left it."""

    verification: dict[UUID, str] = field(default_factory=dict)
    suspended: set[UUID] = field(default_factory=set)
    blocks: set[tuple[UUID, UUID]] = field(default_factory=set)

    def standing(self, provider_id: UUID, owner_id: UUID) -> ProviderStanding:
        return ProviderStanding(
            verification=self.verification.get(provider_id, UNKNOWN),
            suspended=provider_id in self.suspended,
            blocked_by_owner=(owner_id, provider_id) in self.blocks,
        )


@pytest.fixture
def standings(app: Tasks) -> FakeStandings:
    fake = FakeStandings()
    app.use_provider_standings(fake)
    return fake


@pytest.mark.parametrize("status", [UNKNOWN, "registered", "pending", "rejected"])
def test_unverified_providers_are_refused(
    app: Tasks,
    standings: FakeStandings,
    published: Callable[..., UUID],
    provider: UUID,
    now: datetime,
    status: str,
) -> None:
    standings.verification[provider] = status
    task_id = published()
    with pytest.raises(ProviderNotVerified):
        app.take_order(task_id, provider, now=now)
    assert app.get_task(task_id).slots_left == 3


def test_verified_provider_takes_an_order(
    app: Tasks,
    standings: FakeStandings,
    published: Callable[..., UUID],
    provider: UUID,
    now: datetime,
) -> None:
    standings.verification[provider] = "verified"
    order_id = app.take_order(published(), provider, now=now).id
    assert app.get_order(order_id).status is OrderStatus.ACCEPTED


def test_suspended_provider_is_refused(
    app: Tasks,
    standings: FakeStandings,
    published: Callable[..., UUID],
    provider: UUID,
    now: datetime,
) -> None:
    standings.verification[provider] = "verified"
    standings.suspended.add(provider)
    with pytest.raises(ProviderSuspended):
        app.take_order(published(), provider, now=now)


def test_block_applies_only_to_the_blocking_owners_tasks(
    app: Tasks,
    standings: FakeStandings,
    published: Callable[..., UUID],
    provider: UUID,
    owner: UUID,
    now: datetime,
) -> None:
    standings.verification[provider] = "verified"
    standings.blocks.add((owner, provider))
    with pytest.raises(ProviderBlocked):
        app.take_order(published(), provider, now=now)

    other_owner = uuid4()
    task_id = app.create_task(
        other_owner,
        title="Transcribe audio",
        deadline=now.replace(year=now.year + 1),
        commission_minor=5_000,
        currency="CNY",
        slots=1,
        now=now,
    )
    app.publish(task_id, other_owner, now=now)
    app.mark_funded(task_id, now=now)
    assert app.take_order(task_id, provider, now=now).id


def test_refusal_error_codes_are_stable() -> None:
    assert ProviderNotVerified.code == "provider_not_verified"
    assert ProviderSuspended.code == "provider_suspended"
    assert ProviderBlocked.code == "provider_blocked"
