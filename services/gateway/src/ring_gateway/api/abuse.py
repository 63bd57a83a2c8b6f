"""Business-flow abuse (decision 0017): the self-dealing screen on taking a slot, the admins'
review queue of what it found, and the owners whose rejection rate is far above the norm."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID, uuid4

from litestar import get
from litestar.di import NamedDependency

from ring_gateway.api.proxy import Route
from ring_gateway.api.support import ADMIN, Gateway, example, roles
from ring_gateway.domain import (
    SelfDealingSuspected,
    UserNotFound,
    Verdict,
    self_dealing_evidence,
    self_dealing_verdict,
)
from ring_gateway.flags import FlagPage, ReviewFlag
from ring_gateway.tokens import Principal
from ring_runtime.http import Cursor, Limit

_ID = "0b7c8f1e-5a51-4c3e-8f0e-3d1f0b8f7a10"


async def screen_self_dealing(
    gw: Gateway, provider: Principal, task_id: UUID, client_address: str, user_agent: str
) -> ReviewFlag | None:
    """Judge a provider taking a slot on ``task_id`` against the task's owner.

    Returns the flag to record once the order is taken (one sign of self-dealing), or ``None``
    (no sign, or no task to judge: the task service answers the take itself).

    Raises:
        SelfDealingSuspected: two signs agree; the refused attempt is recorded as a flag.
    """
    task = await gw.upstreams.call("task", "GET", f"/tasks/{task_id}", actor=provider)
    if task.status != 200:
        return None
    owner_id = UUID(task.json()["owner_id"])
    try:
        owner, taker = await asyncio.gather(
            asyncio.to_thread(gw.users.signals, owner_id),
            asyncio.to_thread(gw.users.signals, provider.user_id, client_address, user_agent),
        )
    except UserNotFound:
        return None
    evidence = self_dealing_evidence(owner, taker)
    verdict = self_dealing_verdict(evidence)
    if verdict is Verdict.ALLOW:
        return None
    flag = ReviewFlag(
        id=uuid4(),
        kind="self_dealing",
        verdict=str(verdict),
        evidence=[str(e) for e in evidence],
        task_id=task_id,
        owner_id=owner_id,
        provider_id=provider.user_id,
        created_at=datetime.now(UTC),
    )
    if verdict is Verdict.REFUSE:
        await gw.flags.add(flag)
        raise SelfDealingSuspected(
            "this task's owner and you look like the same person "
            f"({', '.join(flag.evidence)}); the attempt was recorded for review"
        )
    return flag


@get(
    "/v1/admin/flags",
    operation_id="ListReviewFlags",
    tags=["admin"],
    guards=[roles(ADMIN)],
    responses=example(
        200,
        {
            "items": [
                {
                    "id": _ID,
                    "kind": "self_dealing",
                    "verdict": "flag",
                    "evidence": ["shared_email_domain"],
                    "task_id": _ID,
                    "owner_id": _ID,
                    "provider_id": _ID,
                    "created_at": "2026-11-30T08:00:00Z",
                }
            ],
            "next_cursor": None,
        },
        "One page, newest first",
    ),
)
async def list_review_flags(
    principal: NamedDependency[Principal],
    gw: NamedDependency[Gateway],
    cursor: Cursor = None,
    limit: Limit = 50,
) -> FlagPage:
    """Admins: orders flagged (``verdict: flag``) or refused (``refuse``) as possible
    self-dealing, newest first, with the evidence found."""
    return await gw.flags.page(cursor, limit)


REJECTION_OUTLIERS = Route(
    "GET",
    "/v1/admin/flags/rejection-rates",
    "ListRejectionOutliers",
    "admin",
    (ADMIN,),
    "task",
    "/internal/rejection-outliers",
    example(
        200,
        [
            {
                "owner_id": _ID,
                "reviews": 14,
                "rejections": 12,
                "rejection_percent": 86,
                "others_percent": 10,
            }
        ],
        "Owners to review, highest rate first",
    ),
    doc="Admins: Party A owners whose rejection rate of handed-in work is far above the other "
    "owners' (at least 10 reviews; 30 points above and twice the others' rate).",
)
