"""The gateway's public HTTP API (``/v1``)."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from ring_gateway.api.abuse import list_rejection_outliers, list_review_flags
from ring_gateway.api.accounts import AdminProviderController, ProviderController, WalletController
from ring_gateway.api.analytics import ANALYTICS_HANDLERS
from ring_gateway.api.audit import audit_trail, inclusion_proof, transaction_trail
from ring_gateway.api.auth import AuthController, get_me
from ring_gateway.api.contract import event_contract
from ring_gateway.api.disputes import (
    AdminDisputeController,
    DisputeController,
    OrderDisputeController,
)
from ring_gateway.api.marketplace import OrderController, TaskController
from ring_gateway.api.notifications import WebhookController, stream_events
from ring_gateway.api.vouchers import VoucherController

ROUTE_HANDLERS: list[ControllerRouterHandler] = [
    AuthController,
    get_me,
    TaskController,
    OrderController,
    VoucherController,
    WalletController,
    ProviderController,
    AdminProviderController,
    OrderDisputeController,
    DisputeController,
    AdminDisputeController,
    audit_trail,
    inclusion_proof,
    transaction_trail,
    event_contract,
    *ANALYTICS_HANDLERS,
    WebhookController,
    stream_events,
    list_review_flags,
    list_rejection_outliers,
]

__all__ = ["ROUTE_HANDLERS"]
