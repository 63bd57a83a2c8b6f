"""Every subscription of the voucher service.

* its read models of other contexts (:mod:`ring_voucher.projections`): the order directory
  (``ring.task.events``) and the orders' dispute states (``ring.dispute.events``);
* its own events, followed locally (``OwnEventsFollower``, wired by ``main``): a handed-in
  voucher's files go into the fingerprint index and its review timer is scheduled; a decided
  voucher's timer is cancelled.
"""

from __future__ import annotations

from typing import Any

import psycopg

from ring_runtime.consumer import ExactlyOnceProcessor
from ring_runtime.order_directory import OrderDirectoryProjection
from ring_runtime.timers import DurableTimers
from ring_voucher import domain
from ring_voucher.fingerprints import FingerprintIndex
from ring_voucher.projections import OrderDisputesProjection

#: Purpose of the timer approving a voucher whose review window ran out.
AUTO_APPROVE = "voucher.auto_approve"


def processors(
    orders: OrderDirectoryProjection, disputes: OrderDisputesProjection
) -> list[ExactlyOnceProcessor]:
    """Every exactly-once consumer of other contexts' events the voucher service runs."""
    return [orders.processor(), disputes.processor()]


def local_handlers(fingerprints: FingerprintIndex, timers: DurableTimers) -> dict[type[Any], Any]:
    """Own domain event → local table updates (fingerprints, review timer)."""

    def submitted(event: domain.Voucher.Submitted, conn: psycopg.Connection[Any]) -> None:
        voucher_files = [domain.VoucherFile.of_record(record) for record in event.files]
        fingerprints.record(conn, event.originator_id, event.order_id, voucher_files)
        timers.schedule(AUTO_APPROVE, event.originator_id, event.review_due, conn)

    def decided(event: domain.Voucher.Decision, conn: psycopg.Connection[Any]) -> None:
        timers.cancel(AUTO_APPROVE, event.originator_id, conn)

    return {
        domain.Voucher.Submitted: submitted,
        domain.Voucher.Approved: decided,
        domain.Voucher.Rejected: decided,
    }
