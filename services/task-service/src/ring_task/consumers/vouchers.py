"""Voucher outcomes → orders: ``ring.voucher.events`` drives submission and review of orders.

The voucher service checked who acted (the order's provider hands in, the task owner reviews),
so these system-driven commands act as the parties named in the event. Each command is
idempotent, so an order the parties already moved through this service's own API is left as
it is.
"""

from __future__ import annotations

from ring_events.envelope import Envelope
from ring_events.topics import VOUCHER_EVENTS
from ring_events.voucher import VoucherApproved, VoucherRejected, VoucherSubmitted
from ring_runtime.consumer import ExactlyOnceProcessor
from ring_runtime.unit_of_work import UnitOfWork
from ring_task.application import Tasks


def processor(tasks: Tasks) -> ExactlyOnceProcessor:
    """The exactly-once consumer applying voucher outcomes to orders."""

    def submitted(event: VoucherSubmitted, _: Envelope, unit: UnitOfWork) -> None:
        tasks.record_voucher_submitted(
            event.order_id, event.provider_id, event.voucher_id, now=event.occurred_at, unit=unit
        )

    def approved(event: VoucherApproved, _: Envelope, unit: UnitOfWork) -> None:
        tasks.record_voucher_approved(
            event.order_id, event.owner_id, now=event.occurred_at, unit=unit
        )

    def rejected(event: VoucherRejected, _: Envelope, unit: UnitOfWork) -> None:
        tasks.record_voucher_rejected(
            event.order_id,
            event.owner_id,
            event.voucher_id,
            event.reason,
            now=event.occurred_at,
            unit=unit,
        )

    return ExactlyOnceProcessor(
        "task-vouchers",
        VOUCHER_EVENTS,
        tasks,
        {VoucherSubmitted: submitted, VoucherApproved: approved, VoucherRejected: rejected},
    )
