"""Plumbing shared by the ledger's commands and queries.

Loads aggregates by their deterministic ids and translates the library's lookup errors into the
ledger's own. A command whose atomic ``save()`` lost an optimistic-concurrency race is re-run
from fresh state by the runtime's :func:`ring_runtime.concurrency.retrying`.

Commands are written in two halves: a *step* decides and returns a :class:`Staged` result (the
result plus every aggregate it changed, nothing saved yet), and :meth:`LedgerBase.commit` saves
those aggregates in ONE ``save()``. Composite commands (a saga step plus its postings) combine
staged changes before committing, so they are atomic too. Inside a consumer that single save
also carries the consumer's tracking position.

Configuration: ``RING_WITHDRAWAL_CLEARANCE_HOURS`` (default 24) is how long a payout waits
between request and payment.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, Transcoding

from ring_ledger.domain import (
    Account,
    AccountKey,
    Escrow,
    EscrowNotFound,
    Release,
    Settlement,
    Transfer,
    TransferNotFound,
)
from ring_ledger.domain.escrow import escrow_uuid
from ring_ledger.domain.transfers import transfer_uuid
from ring_runtime.store import RingApplication

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)

#: Events between two snapshots of an account or an escrow.
SNAPSHOT_INTERVAL = 50

#: Default clearance period of a payout, in hours (``RING_WITHDRAWAL_CLEARANCE_HOURS``).
DEFAULT_CLEARANCE_HOURS = "24"


@dataclass(frozen=True)
class Staged(Generic[T]):
    """A decided command: its result and the aggregates to save (none for a repeat)."""

    result: T
    changes: Sequence[Aggregate] = field(default_factory=tuple)

    def __add__(self, other: Staged[Any]) -> Staged[T]:
        """These changes followed by ``other``'s, keeping this result."""
        return Staged(self.result, (*self.changes, *other.changes))


class LedgerBase(RingApplication):
    """Event-sourced application base of the ledger: loading, committing, configuration."""

    def lifecycle_of(self, obj: object) -> UUID | None:
        """A task's escrow carries the task's lifecycle (it was funded under the task's
        correlation); accounts are shared by many transactions and carry none."""
        return obj.id if isinstance(obj, Escrow) else None

    #: Busy aggregates get a snapshot every N events, so loading one never replays its history.
    snapshotting_intervals: ClassVar[dict[Any, int]] = {
        Account: SNAPSHOT_INTERVAL,
        Escrow: SNAPSHOT_INTERVAL,
    }

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        hours = self.env.get("RING_WITHDRAWAL_CLEARANCE_HOURS", DEFAULT_CLEARANCE_HOURS)
        if not hours.isdigit():
            raise ValueError(f"RING_WITHDRAWAL_CLEARANCE_HOURS must be whole hours, got {hours!r}")
        self.withdrawal_clearance = timedelta(hours=int(hours))

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """Also transcode the value objects an escrow snapshot holds (its outcomes, releases)."""
        super().register_transcodings(transcoder)
        transcoder.register(_ValueObjectAsDict(Settlement, "ledger_settlement"))
        transcoder.register(_ValueObjectAsDict(Release, "ledger_release"))

    def commit(self, staged: Staged[T]) -> T:
        """Save every aggregate ``staged`` changed in one atomic save; return its result."""
        if staged.changes:
            self.save(*staged.changes)
        return staged.result

    def get_account(self, key: AccountKey) -> Account | None:
        """The account named by ``key``, or None if it was never opened."""
        return self._find(Account, key.id)

    def get_escrow(self, task_id: str) -> Escrow | None:
        """The escrow funded for ``task_id``, or None."""
        return self._find(Escrow, escrow_uuid(task_id))

    def _require_transfer(self, transfer_id: str) -> Transfer:
        transfer = self._find(Transfer, transfer_uuid(transfer_id))
        if transfer is None:
            raise TransferNotFound(f"no transfer {transfer_id!r}")
        return transfer

    def _require_escrow(self, task_id: str) -> Escrow:
        escrow = self.get_escrow(task_id)
        if escrow is None:
            raise EscrowNotFound(f"no escrow was funded for task {task_id!r}")
        return escrow

    def _find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        try:
            return self._load(cls, aggregate_id)
        except AggregateNotFoundError:
            return None

    def _load(self, cls: type[A], aggregate_id: UUID) -> A:
        aggregate: Any = self.repository.get(aggregate_id)
        if not isinstance(aggregate, cls):  # an id of another kind of aggregate
            raise AggregateNotFoundError(aggregate_id)
        return aggregate

    def _created_ids(self, topic: str, page: int = 500) -> Iterator[UUID]:
        start = 1
        while notifications := self.recorder.select_notifications(start, page, topics=[topic]):
            for notification in notifications:
                yield UUID(str(notification.originator_id))
            start = notifications[-1].id + 1


class _ValueObjectAsDict(Transcoding):
    """A frozen dataclass of plain fields as the dict of its fields.

    Events never carry these objects, but an escrow's state does, and without a transcoding the
    snapshot taken every :data:`SNAPSHOT_INTERVAL` events failed after its events were saved.
    """

    def __init__(self, cls: type[Any], name: str) -> None:
        self.type = cls
        self.name = name

    def encode(self, obj: Any) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


class AccountSet:
    """Accounts loaded (or opened on demand) within one command, each loaded only once."""

    def __init__(self, ledger: LedgerBase) -> None:
        self._ledger = ledger
        self._loaded: dict[UUID, Account] = {}

    def get(self, key: AccountKey) -> Account:
        """The account named by ``key``; a new, unsaved one if it was never opened."""
        if key.id not in self._loaded:
            self._loaded[key.id] = self._ledger.get_account(key) or Account.open(key)
        return self._loaded[key.id]

    def __iter__(self) -> Iterator[Account]:
        return iter(self._loaded.values())
