"""Operations whose owning service has not landed yet: they authorize, then answer 501."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency

from ring_gateway.api.support import ADMIN, A, B, example, require
from ring_gateway.errors import NotImplementedYet
from ring_gateway.tokens import Principal

_LATER = example(
    501,
    {"error": {"code": "not_implemented", "message": "not available yet"}},
    "Not available yet",
)


@get("/v1/analytics/me", operation_id="GetMyAnalytics", tags=["analytics"], responses=_LATER)
async def my_analytics(principal: NamedDependency[Principal]) -> None:
    """The caller's figures (not available yet)."""
    require(principal, A, B)
    raise NotImplementedYet("analytics are not available yet")


@get("/v1/admin/analytics", operation_id="GetAnalytics", tags=["admin"], responses=_LATER)
async def admin_analytics(principal: NamedDependency[Principal]) -> None:
    """Platform figures (not available yet)."""
    require(principal, ADMIN)
    raise NotImplementedYet("analytics are not available yet")


PENDING_HANDLERS = [
    my_analytics,
    admin_analytics,
]
