"""The gateway's public HTTP API (``/v1``): the route table of the operations passed on to a
service (:mod:`ring_gateway.api.proxy`), and the handlers that do gateway work of their own."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from ring_gateway.api import accounts, disputes, marketplace, notifications, vouchers
from ring_gateway.api.abuse import REJECTION_OUTLIERS, list_review_flags
from ring_gateway.api.analytics import ANALYTICS_HANDLERS
from ring_gateway.api.audit import audit_trail, inclusion_proof, transaction_trail
from ring_gateway.api.auth import AuthController, get_me
from ring_gateway.api.contract import event_contract
from ring_gateway.api.proxy import Route, proxy

#: Every operation the gateway passes on to one service unchanged, one row each.
ROUTES: list[Route] = [
    *marketplace.ROUTES,
    *vouchers.ROUTES,
    *accounts.ROUTES,
    *disputes.ROUTES,
    *notifications.ROUTES,
    REJECTION_OUTLIERS,
]

ROUTE_HANDLERS: list[ControllerRouterHandler] = [
    AuthController,
    get_me,
    *(proxy(route) for route in ROUTES),
    marketplace.take_order,
    disputes.add_evidence,
    notifications.stream_events,
    audit_trail,
    inclusion_proof,
    transaction_trail,
    event_contract,
    *ANALYTICS_HANDLERS,
    list_review_flags,
]

__all__ = ["ROUTES", "ROUTE_HANDLERS"]
