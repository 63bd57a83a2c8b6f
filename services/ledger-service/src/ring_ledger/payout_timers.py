"""Withdrawals are paid automatically when their clearance period ends.

A local projection of the ledger's own events schedules a durable timer (decision 0005) at
``clears_at`` for every requested withdrawal and cancels it when the withdrawal is paid or
cancelled; the timer pays the withdrawal. ``ring ledger payouts`` and
``POST /withdrawals/{id}/complete`` remain for operators (e.g. to pay without waiting for the
poller); every path is idempotent, so a payout can never happen twice.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from ring_ledger.application import Ledger
from ring_ledger.domain import Withdrawal
from ring_ledger.domain.withdrawal import WithdrawalAlreadyDecided
from ring_runtime.local_projection import OwnEventsFollower
from ring_runtime.projection import ProjectionStore
from ring_runtime.settings import Settings
from ring_runtime.timers import Clock, DurableTimers, Timer

log = logging.getLogger("ring.ledger.payouts")

#: Purpose of the timer paying a withdrawal once it has cleared.
PAYOUT = "withdrawal-payout"


class PayoutScheduler:
    """The payout timers of one ledger, and the follower that schedules them."""

    def __init__(self, ledger: Ledger, settings: Settings, clock: Clock) -> None:
        self.ledger = ledger
        self.clock = clock
        self.store = ProjectionStore(settings.database_url, settings.db_schema, "ledger_local")
        self.timers = DurableTimers(
            settings.database_url, settings.db_schema, clock, {PAYOUT: self._pay}
        )
        self.follower = OwnEventsFollower(
            "ledger-payouts",
            ledger,
            self.store,
            {
                Withdrawal.Requested: self._schedule,
                Withdrawal.Paid: self._cancel,
                Withdrawal.Cancelled: self._cancel,
            },
        )

    def open(self) -> None:
        """Create the timer table (the follower is mounted with the ledger's read models)."""
        self.timers.open()

    def close(self) -> None:
        """Close the timers' connection pool."""
        self.timers.close()

    def _schedule(self, event: Withdrawal.Requested, conn: psycopg.Connection[Any]) -> None:
        self.timers.schedule(PAYOUT, event.originator_id, event.clears_at, conn)

    def _cancel(self, event: Withdrawal.Decision, conn: psycopg.Connection[Any]) -> None:
        self.timers.cancel(PAYOUT, event.originator_id, conn)

    def _pay(self, timer: Timer) -> None:
        try:
            self.ledger.complete_withdrawal(timer.aggregate_id, self.clock.now())
        except WithdrawalAlreadyDecided:
            log.info("withdrawal %s was cancelled before it cleared", timer.aggregate_id)
