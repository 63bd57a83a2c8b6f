"""Wiring of the ledger service: ``create_app(settings)`` and the :data:`SERVICE` entry point."""

from __future__ import annotations

from functools import partial

from litestar import Litestar
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from ring_ledger import domain
from ring_ledger.api import (
    DepositController,
    WalletController,
    WithdrawalController,
    check_ledger,
    ledger_totals,
)
from ring_ledger.application import Ledger
from ring_ledger.checks import LedgerCheck
from ring_ledger.config import payments_config
from ring_ledger.consumers import processors
from ring_ledger.gauges import LedgerGauges
from ring_ledger.integration import DOMAIN_TO_PUBLIC, TOPIC
from ring_ledger.payments import InvalidIdempotencyKey, InvalidSignature
from ring_ledger.payout_timers import PayoutScheduler
from ring_ledger.projections import BooksProjection, books_in
from ring_ledger.queries import InvalidPage
from ring_ledger.settlement import SettlementTermsMismatch
from ring_runtime.process import create_service_app
from ring_runtime.relay import EventTranslator
from ring_runtime.service import ServiceDefinition
from ring_runtime.settings import Settings
from ring_runtime.store import create_application
from ring_runtime.timers import Clock, SystemClock

TRANSLATOR = EventTranslator(topic=TOPIC, mapping=DOMAIN_TO_PUBLIC)

#: Each client-caused ledger error, mapped once to its HTTP status. A ``LedgerError`` not
#: listed (none today) answers 400. ``insufficient_funds`` is 409: the request is well formed
#: but conflicts with the current balance, and may succeed after a deposit.
ERROR_STATUSES: dict[type[Exception], int] = {
    domain.InvalidAmount: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.InvalidCurrency: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.UnsupportedCurrency: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.InvalidSharePercent: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.CurrencyMismatch: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.SameAccountTransfer: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.PostExceedsPending: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.IdempotencyKeyReused: HTTP_422_UNPROCESSABLE_ENTITY,
    InvalidIdempotencyKey: HTTP_400_BAD_REQUEST,
    InvalidPage: HTTP_400_BAD_REQUEST,
    InvalidSignature: HTTP_401_UNAUTHORIZED,
    domain.NotAccountHolder: HTTP_403_FORBIDDEN,
    domain.DepositNotFound: HTTP_404_NOT_FOUND,
    domain.WithdrawalNotFound: HTTP_404_NOT_FOUND,
    domain.TransferNotFound: HTTP_404_NOT_FOUND,
    domain.EscrowNotFound: HTTP_404_NOT_FOUND,
    domain.InsufficientFunds: HTTP_409_CONFLICT,
    domain.TransferIdReused: HTTP_409_CONFLICT,
    domain.TransferNotPending: HTTP_409_CONFLICT,
    domain.PendingTransferAlreadyResolved: HTTP_409_CONFLICT,
    domain.DepositAlreadyDecided: HTTP_409_CONFLICT,
    domain.WithdrawalNotDue: HTTP_409_CONFLICT,
    domain.WithdrawalAlreadyDecided: HTTP_409_CONFLICT,
    domain.OrderAlreadySettled: HTTP_409_CONFLICT,
    domain.NoOpenSlot: HTTP_409_CONFLICT,
    domain.ReleaseExceedsOpenSlots: HTTP_409_CONFLICT,
    domain.IllegalSagaStep: HTTP_409_CONFLICT,
    SettlementTermsMismatch: HTTP_409_CONFLICT,
    domain.LedgerError: HTTP_400_BAD_REQUEST,
}


def create_app(settings: Settings, *, clock: Clock | None = None) -> Litestar:
    """The ledger process: API, relay of ``ring.ledger.events``, SettlementSaga consumer, and
    the payout timers (``clock`` defaults to the wall clock; tests inject a manual one)."""
    payments = payments_config()
    ledger = create_application(Ledger, settings)
    ledger.payment_provider = payments.provider
    payouts = PayoutScheduler(ledger, settings, clock or SystemClock())
    payouts.open()
    books = BooksProjection(ledger, settings)
    app = create_service_app(
        settings=settings,
        title="Ring ledger-service (internal)",
        route_handlers=[
            DepositController,
            WalletController,
            WithdrawalController,
            check_ledger,
            ledger_totals,
        ],
        application=ledger,
        translator=TRANSLATOR,
        processors=processors(ledger),
        read_models=[payouts.follower, books.follower, books],
        domain_errors=ERROR_STATUSES,
        dependencies={
            "ledger": ledger,
            "books": books,
            "checks": LedgerCheck(ledger, books),
            "webhook_secret": payments.webhook_secret,
        },
        on_shutdown=[payouts.close, ledger.close],
        background=[payouts.follower, payouts.timers, books.follower],
        gauges=[LedgerGauges(ledger, books, settings)],
    )
    app.state.payouts = payouts
    return app


SERVICE = ServiceDefinition(
    name="ledger",
    create_app=create_app,
    application_name=Ledger.name,
    translator=TRANSLATOR,
    event_log=partial(create_application, Ledger),
    read_models={"books": books_in},
)
