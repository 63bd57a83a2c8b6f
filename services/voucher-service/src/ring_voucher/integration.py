"""Which private domain events the voucher service publishes, and as which public events.

Voucher events are published; the order trail (``VoucherTrail``) is private bookkeeping.
The outbox relay uses :data:`TOPIC`, :data:`DOMAIN_TO_PUBLIC` and :func:`partition_key`.
"""

from __future__ import annotations

from ring_events import voucher as public
from ring_events.base import IntegrationEvent
from ring_events.topics import VOUCHER_EVENTS
from ring_runtime.relay import Translation
from ring_voucher.domain import Voucher, VoucherFile

#: The topic the voucher service publishes to.
TOPIC = VOUCHER_EVENTS


def _submitted(e: Voucher.Submitted) -> public.VoucherSubmitted:
    files = [VoucherFile.of_record(record) for record in e.files]
    return public.VoucherSubmitted(
        voucher_id=e.originator_id,
        order_id=e.order_id,
        task_id=e.task_id,
        owner_id=e.owner_id,
        provider_id=e.provider_id,
        files=tuple(
            public.VoucherFile(sha256=f.sha256, size=f.size, content_type=f.content_type)
            for f in files
        ),
        flags=tuple(e.flags),
        duplicate_of=tuple(e.duplicate_of),
        resubmission_of=e.resubmission_of,
        occurred_at=e.at,
    )


def _approved(e: Voucher.Approved) -> public.VoucherApproved:
    return public.VoucherApproved(
        voucher_id=e.originator_id,
        order_id=e.order_id,
        task_id=e.task_id,
        owner_id=e.owner_id,
        provider_id=e.provider_id,
        automatic=e.automatic,
        occurred_at=e.at,
    )


def _rejected(e: Voucher.Rejected) -> public.VoucherRejected:
    return public.VoucherRejected(
        voucher_id=e.originator_id,
        order_id=e.order_id,
        task_id=e.task_id,
        owner_id=e.owner_id,
        provider_id=e.provider_id,
        reason=e.reason,
        occurred_at=e.at,
    )


#: Published domain event class → the function building its public event.
DOMAIN_TO_PUBLIC: dict[type[object], Translation] = {
    Voucher.Submitted: _submitted,
    Voucher.Approved: _approved,
    Voucher.Rejected: _rejected,
}


def partition_key(event: IntegrationEvent) -> str:
    """Every voucher event of one order goes to one partition, in the order it happened.

    A resubmission is another voucher (aggregate). Keyed by voucher id, ``voucher.submitted`` of
    the resubmission could be consumed before ``voucher.rejected`` of its predecessor (they
    would sit in different partitions), and the order would refuse it. Consumers still track
    per voucher: the voucher id travels in the ``aggregate_id`` header.
    """
    if not isinstance(event, public.VoucherEventFields):
        raise TypeError(f"{type(event).__name__} is not a voucher event")
    return str(event.order_id)
