"""The voucher service's commands: get → act → save, retried when another writer got there first.

Handing in a voucher checks the uploads (limits, type by magic bytes) and the order's parties
*before* anything is stored, then stores the files by content, flags reused content and saves
the voucher with its order's trail in one transaction. Reviews and the automatic approval are
idempotent where the platform drives them (timers, redelivery).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from ring_runtime.blobs import BlobStore
from ring_runtime.concurrency import retrying
from ring_runtime.paging import page_of_history
from ring_runtime.store import RingApplication
from ring_runtime.timers import Clock, SystemClock
from ring_voucher.config import VoucherConfig
from ring_voucher.domain import (
    NoFiles,
    NotOrderParty,
    NotOrderProvider,
    NotTaskOwner,
    OrderNotFound,
    OrderNotOpen,
    TooManyFiles,
    Voucher,
    VoucherFile,
    VoucherFileNotFound,
    VoucherNotFound,
    VoucherStatus,
    VoucherTrail,
    approves_automatically,
    check_manual_approval,
)
from ring_voucher.files import inspect_upload
from ring_voucher.fingerprints import Matches
from ring_voucher.projections import OPEN_FOR_VOUCHERS, OrderView


class OrderDirectory(Protocol):
    """The orders the service knows (its projection of ``ring.task.events``)."""

    def get(self, order_id: UUID) -> OrderView | None:
        """The order, or ``None`` when unknown."""
        ...


class FingerprintLookup(Protocol):
    """Finds earlier vouchers of other orders with the same or look-alike files."""

    def matches(self, order_id: UUID, files: Sequence[VoucherFile]) -> Matches:
        """Matches of ``files`` on orders other than ``order_id``."""
        ...


class DisputeStates(Protocol):
    """The state of each order's latest dispute (its projection of ``ring.dispute.events``)."""

    def state(self, order_id: UUID) -> str | None:
        """``open`` / ``resolved`` / ``withdrawn``, or None when the order was never disputed."""
        ...


class Vouchers(RingApplication):
    """Vouchers handed in by providers and reviewed by task owners."""

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        orders: OrderDirectory,
        fingerprints: FingerprintLookup,
        blobs: BlobStore,
        config: VoucherConfig,
        clock: Clock | None = None,
        catch_up: Callable[[], Any] = lambda: None,
        disputes: DisputeStates | None = None,
    ) -> None:
        """Args:
        env: eventsourcing environment.
        orders: the order directory (parties and status).
        fingerprints: the fingerprint index.
        blobs: where files are stored.
        config: limits and the review window.
        clock: source of "now" (default: the wall clock).
        catch_up: brings local read models (fingerprints, timers) up to date with the store.
        disputes: the orders' dispute states; without it approvals are not checked.
        """
        super().__init__(env=env)
        self.orders = orders
        self.fingerprints = fingerprints
        self.blobs = blobs
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.catch_up = catch_up
        self.disputes = disputes

    def lifecycle_correlation(self, obj: object) -> str | None:
        """A voucher and its order's trail join the task lifecycle of their order: they are
        recorded under the correlation id the task service published the order under."""
        if isinstance(obj, Voucher | VoucherTrail):
            order = self.orders.get(obj.order_id)
            return order.correlation_id if order is not None else None
        return None

    # -- commands ----------------------------------------------------------------------------

    def submit(
        self, order_id: UUID, actor_id: UUID, uploads: Sequence[bytes], note: str
    ) -> Voucher:
        """The order's provider hands in ``uploads`` as a voucher; returns the new voucher.

        Raises:
            OrderNotFound, NotOrderProvider, OrderNotOpen: the order does not allow it.
            NoFiles, TooManyFiles, FileTooLarge, UnsupportedFileType: the uploads are refused;
                nothing is stored.
            VoucherUnderReview, OrderAlreadyApproved: the order's trail does not allow it.
        """
        order = self._known_order(order_id)
        if order.provider_id != actor_id:
            raise NotOrderProvider("only the order's provider may hand in a voucher")
        if order.status not in OPEN_FOR_VOUCHERS:
            raise OrderNotOpen(f"the order is {order.status}; it takes no voucher")
        if not uploads:
            raise NoFiles("a voucher needs at least one file")
        if len(uploads) > self.config.max_files:
            raise TooManyFiles(f"a voucher may carry at most {self.config.max_files} files")
        inspected = [inspect_upload(data, self.config.max_file_bytes) for data in uploads]
        files = [
            VoucherFile(sha256=f.sha256, size=f.size, content_type=f.content_type, phash=f.phash)
            for f in inspected
        ]
        self._trail(order_id).check_open()
        for upload in inspected:
            self.blobs.put(upload.sha256, upload.data, upload.content_type)

        def act() -> Voucher:
            trail = self._trail(order_id)
            trail.check_open()
            self.catch_up()
            matches = self.fingerprints.matches(order_id, files)
            now = self.clock.now()
            voucher = Voucher.submit(
                order_id=order_id,
                task_id=order.task_id,
                owner_id=order.owner_id,
                provider_id=order.provider_id,
                files=files,
                note=note,
                flags=matches.flags,
                duplicate_of=matches.duplicate_of,
                resubmission_of=trail.latest,
                review_due=now + self.config.review_window,
                at=now,
            )
            trail.add(voucher.id)
            self.save(voucher, trail)
            return voucher

        voucher = retrying(act)
        self.catch_up()
        return voucher

    def approve(self, voucher_id: UUID, actor_id: UUID) -> Voucher:
        """The task owner accepts the voucher; the order is then approved and settled. Returns
        the approved voucher.

        Raises:
            OrderUnderDispute: a dispute about the order is open.
        """
        disputes = self.disputes

        def not_disputed(voucher: Voucher) -> None:
            if disputes is not None:
                _check_party(voucher, actor_id)
                check_manual_approval(disputes.state(voucher.order_id))

        return self._decide(
            voucher_id, actor_id, lambda v: v.approve(self.clock.now()), admissible=not_disputed
        )

    def reject(self, voucher_id: UUID, actor_id: UUID, reason: str) -> Voucher:
        """The task owner turns the voucher down with a reason; returns the rejected voucher."""
        return self._decide(voucher_id, actor_id, lambda v: v.reject(reason, self.clock.now()))

    def auto_approve(self, voucher_id: UUID) -> bool:
        """Approve a voucher whose review window ran out; no-op if already decided.

        Returns whether this call approved it. Runs inside the timer poller's claim, which
        locks the timer row, so it must not catch up the local projection (that would wait for
        the same row); the follower cancels the fired timer later, a no-op by then.
        """

        def act() -> bool:
            voucher = self.get_voucher(voucher_id)
            if voucher.is_decided:
                return False
            voucher.approve(self.clock.now(), automatic=True)
            self._save_decision(voucher)
            return True

        return retrying(act)

    def end_review(self, voucher_id: UUID) -> None:
        """The voucher's review window ran out (its timer fired): approve it automatically,
        unless a dispute about the order decides otherwise (see
        :func:`~ring_voucher.domain.approves_automatically`).

        Raises:
            DeferredByDispute: a dispute about the order is open; the timer retries later.
        """
        order_id = self.get_voucher(voucher_id).order_id
        state = self.disputes.state(order_id) if self.disputes is not None else None
        if approves_automatically(state):
            self.auto_approve(voucher_id)

    # -- reads -------------------------------------------------------------------------------

    def get_voucher(self, voucher_id: UUID) -> Voucher:
        """The current state of a voucher."""
        voucher = self._get(voucher_id)
        if not isinstance(voucher, Voucher):
            raise VoucherNotFound(f"voucher {voucher_id} not found")
        return voucher

    def get_voucher_for(self, voucher_id: UUID, actor_id: UUID) -> Voucher:
        """The voucher, if ``actor_id`` is its task owner or its provider."""
        voucher = self.get_voucher(voucher_id)
        _check_party(voucher, actor_id)
        return voucher

    def file_of(self, voucher: Voucher, sha256: str) -> tuple[VoucherFile, bytes]:
        """One file of ``voucher``: what is known of it, and its bytes.

        Raises:
            VoucherFileNotFound: the voucher has no file with that content address.
        """
        for file in voucher.files:
            if file.sha256 == sha256:
                return file, self.blobs.get(sha256)
        raise VoucherFileNotFound(f"voucher {voucher.id} has no file {sha256}")

    def vouchers_of_order(
        self, order_id: UUID, actor_id: UUID, *, cursor: str | None = None, limit: int = 20
    ) -> tuple[list[Voucher], str | None]:
        """A page of the order's vouchers, oldest first, for a party of the order, and the
        cursor of the next page.

        Raises:
            InvalidCursor: ``cursor`` was not issued for this order's vouchers.
        """
        order = self._known_order(order_id)
        if actor_id not in (order.owner_id, order.provider_id):
            raise NotOrderParty(f"user {actor_id} is not a party of order {order_id}")
        ids, following = page_of_history(
            self._trail(order_id).voucher_ids, scope=str(order_id), cursor=cursor, limit=limit
        )
        return [self.get_voucher(v) for v in ids], following

    # -- plumbing ----------------------------------------------------------------------------

    def _decide(
        self,
        voucher_id: UUID,
        actor_id: UUID,
        change: Callable[[Voucher], None],
        *,
        admissible: Callable[[Voucher], None] = lambda voucher: None,
    ) -> Voucher:
        """Load the voucher once, check ``admissible`` then its owner, apply ``change``, save;
        returns the decided voucher, so the answer needs no second load."""

        def act() -> Voucher:
            voucher = self.get_voucher(voucher_id)
            admissible(voucher)
            if voucher.owner_id != actor_id:
                raise NotTaskOwner("only the task's owner may review the voucher")
            change(voucher)
            self._save_decision(voucher)
            return voucher

        voucher = retrying(act)
        self.catch_up()
        return voucher

    def _save_decision(self, voucher: Voucher) -> None:
        trail = self._trail(voucher.order_id)
        trail.decided(voucher.id, approved=voucher.status is VoucherStatus.APPROVED)
        self.save(voucher, trail)

    def _known_order(self, order_id: UUID) -> OrderView:
        order = self.orders.get(order_id)
        if order is None:
            raise OrderNotFound(f"order {order_id} not found")
        return order

    def _trail(self, order_id: UUID) -> VoucherTrail:
        trail = self._get(VoucherTrail.create_id(order_id))
        if isinstance(trail, VoucherTrail):
            return trail
        return VoucherTrail(order_id=order_id)

    def _get(self, aggregate_id: UUID) -> object:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None


def _check_party(voucher: Voucher, actor_id: UUID) -> None:
    if actor_id not in (voucher.owner_id, voucher.provider_id):
        raise NotOrderParty(f"user {actor_id} is not a party of voucher {voucher.id}")
