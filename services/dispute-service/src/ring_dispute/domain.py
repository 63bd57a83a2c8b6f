"""The Dispute aggregate: complaint → response → evidence → arbitration → resolution.

Rules (decision 0007):

* a party of the order (task owner A or provider B) opens a dispute about submitted or
  rejected work, with a category and a reason; one open dispute per order (:class:`Docket`);
* the other party responds by ``response_due``; both parties add evidence until resolution;
* the case goes to arbitration when the response deadline passes (timer, whether or not the
  other side responded), or earlier when a party asks once both sides have spoken;
* an admin resolves: ``release`` (B paid 100 %), ``refund`` (A refunded) or ``split``
  (B's ``provider_share_percent`` 1..99; the ledger rounds as in decision 0003);
* the opener may withdraw before resolution; the order goes back to where it was.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Literal, NamedTuple, TypeGuard, get_args
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

#: What a dispute may be about.
Category = Literal["quality", "not_delivered", "unfair_rejection", "fraud", "other"]
#: How an admin may decide a case.
Outcome = Literal["release", "refund", "split"]
CATEGORIES: frozenset[Category] = frozenset(get_args(Category))
OUTCOMES: frozenset[Outcome] = frozenset(get_args(Outcome))


def is_category(value: str) -> TypeGuard[Category]:
    """Whether ``value`` is one of :data:`CATEGORIES` (narrows it for the event's type)."""
    return value in CATEGORIES


def is_outcome(value: str) -> TypeGuard[Outcome]:
    """Whether ``value`` is one of :data:`OUTCOMES` (narrows it for the event's type)."""
    return value in OUTCOMES


class DisputeStatus(StrEnum):
    """Where a case is: open → responded → arbitration → resolved (or withdrawn)."""

    OPEN = "open"
    RESPONDED = "responded"
    ARBITRATION = "arbitration"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"


#: Statuses of a case still being decided.
UNDECIDED = frozenset({DisputeStatus.OPEN, DisputeStatus.RESPONDED, DisputeStatus.ARBITRATION})


class Evidence(NamedTuple):
    """One statement (optionally with a content-addressed file) added to a case."""

    added_by: UUID
    statement: str
    sha256: str | None
    at: datetime


class Dispute(Aggregate):
    """A complaint about one order, decided by platform arbitration."""

    class Opened(Aggregate.Created):
        order_id: UUID
        task_id: UUID
        owner_id: UUID
        provider_id: UUID
        opened_by: UUID
        category: Category
        reason: str
        response_due: datetime
        at: datetime

    def __init__(
        self,
        order_id: UUID,
        task_id: UUID,
        owner_id: UUID,
        provider_id: UUID,
        opened_by: UUID,
        category: Category,
        reason: str,
        response_due: datetime,
        at: datetime,
    ) -> None:
        self.order_id = order_id
        self.task_id = task_id
        self.owner_id = owner_id
        self.provider_id = provider_id
        self.opened_by = opened_by
        self.category = category
        self.reason = reason
        self.opened_at = at
        self.response_due = response_due
        self.status = DisputeStatus.OPEN
        self.response: str | None = None
        self.evidence: list[Evidence] = []
        self.arbitration_due: datetime | None = None
        self.escalated_automatically = False
        self.outcome: Outcome | None = None
        self.provider_share_percent: int | None = None
        self.resolved_by: UUID | None = None
        self.closed_at: datetime | None = None

    @classmethod
    def open(
        cls,
        *,
        order_id: UUID,
        task_id: UUID,
        owner_id: UUID,
        provider_id: UUID,
        opened_by: UUID,
        category: str,
        reason: str,
        response_window: timedelta,
        at: datetime,
    ) -> Dispute:
        """A party of the order complains; the other side must respond within the window."""
        if opened_by not in (owner_id, provider_id):
            raise NotOrderParty("only a party of the order may open a dispute about it")
        if not is_category(category):
            raise InvalidCategory(f"category must be one of {sorted(CATEGORIES)}")
        if not reason.strip():
            raise ReasonRequired("a dispute needs a reason")
        return cls(
            order_id=order_id,
            task_id=task_id,
            owner_id=owner_id,
            provider_id=provider_id,
            opened_by=opened_by,
            category=category,
            reason=reason,
            response_due=at + response_window,
            at=at,
        )

    # -- reads ---------------------------------------------------------------------------------

    @property
    def respondent_id(self) -> UUID:
        """The party who must answer the complaint."""
        return self.provider_id if self.opened_by == self.owner_id else self.owner_id

    def role_of(self, party_id: UUID) -> str:
        """``owner`` or ``provider``."""
        return "owner" if party_id == self.owner_id else "provider"

    def is_party(self, user_id: UUID) -> bool:
        """True for the task owner and the order's provider."""
        return user_id in (self.owner_id, self.provider_id)

    def is_overdue(self, now: datetime) -> bool:
        """In arbitration past its own deadline."""
        return (
            self.status is DisputeStatus.ARBITRATION
            and self.arbitration_due is not None
            and now > self.arbitration_due
        )

    # -- commands ------------------------------------------------------------------------------

    def respond(self, party_id: UUID, statement: str, at: datetime) -> None:
        """The other party answers (once), before arbitration starts."""
        self._require_party(party_id)
        if party_id != self.respondent_id:
            raise NotRespondent("only the other party responds to a dispute")
        if self.status is not DisputeStatus.OPEN:
            raise IllegalTransition(f"cannot respond to a dispute that is {self.status}")
        if not statement.strip():
            raise ReasonRequired("a response needs a statement")
        self.trigger_event(
            self.Responded,
            order_id=self.order_id,
            responded_by=party_id,
            statement=statement,
            at=at,
        )

    class Responded(Aggregate.Event):
        order_id: UUID
        responded_by: UUID
        statement: str
        at: datetime

        def apply(self, aggregate: Dispute) -> None:
            aggregate.response = self.statement
            aggregate.status = DisputeStatus.RESPONDED

    def add_evidence(
        self, party_id: UUID, statement: str, sha256: str | None, at: datetime
    ) -> None:
        """A party adds a statement (and a file's SHA-256) while the case is undecided."""
        self._require_party(party_id)
        self._require_undecided("add evidence to")
        if not statement.strip():
            raise ReasonRequired("evidence needs a statement")
        if sha256 is not None and (len(sha256) != 64 or not _is_hex(sha256)):
            raise InvalidEvidence("sha256 must be 64 hexadecimal characters")
        self.trigger_event(
            self.EvidenceAdded,
            order_id=self.order_id,
            added_by=party_id,
            statement=statement,
            sha256=sha256,
            at=at,
        )

    class EvidenceAdded(Aggregate.Event):
        order_id: UUID
        added_by: UUID
        statement: str
        sha256: str | None
        at: datetime

        def apply(self, aggregate: Dispute) -> None:
            aggregate.evidence.append(Evidence(self.added_by, self.statement, self.sha256, self.at))

    def request_arbitration(
        self, party_id: UUID, arbitration_window: timedelta, at: datetime
    ) -> None:
        """A party asks for arbitration once both sides have spoken."""
        self._require_party(party_id)
        if self.status is not DisputeStatus.RESPONDED:
            raise IllegalTransition(
                f"arbitration can be requested once both sides have spoken; the case is "
                f"{self.status}"
            )
        self._escalate(False, party_id, at + arbitration_window, at)

    def escalate_at_deadline(self, arbitration_window: timedelta, at: datetime) -> bool:
        """The response deadline passed: go to arbitration. False (no-op) if already there."""
        if self.status not in (DisputeStatus.OPEN, DisputeStatus.RESPONDED):
            return False
        if at < self.response_due:
            raise IllegalTransition("the response deadline has not passed yet")
        self._escalate(True, None, at + arbitration_window, at)
        return True

    def _escalate(
        self, automatic: bool, requested_by: UUID | None, arbitration_due: datetime, at: datetime
    ) -> None:
        self.trigger_event(
            self.Escalated,
            order_id=self.order_id,
            automatic=automatic,
            requested_by=requested_by,
            arbitration_due=arbitration_due,
            at=at,
        )

    class Escalated(Aggregate.Event):
        order_id: UUID
        automatic: bool
        requested_by: UUID | None
        arbitration_due: datetime
        at: datetime

        def apply(self, aggregate: Dispute) -> None:
            aggregate.status = DisputeStatus.ARBITRATION
            aggregate.escalated_automatically = self.automatic
            aggregate.arbitration_due = self.arbitration_due

    def resolve(
        self, admin_id: UUID, outcome: str, provider_share_percent: int | None, at: datetime
    ) -> None:
        """An admin decides the case (at any undecided stage: the admin may cut it short)."""
        self._require_undecided("resolve")
        if not is_outcome(outcome):
            raise InvalidOutcome(f"outcome must be one of {sorted(OUTCOMES)}")
        share = provider_share(outcome, provider_share_percent)
        self.trigger_event(
            self.Resolved,
            order_id=self.order_id,
            task_id=self.task_id,
            owner_id=self.owner_id,
            provider_id=self.provider_id,
            resolved_by=admin_id,
            outcome=outcome,
            provider_share_percent=share,
            at=at,
        )

    class Resolved(Aggregate.Event):
        order_id: UUID
        task_id: UUID
        owner_id: UUID
        provider_id: UUID
        resolved_by: UUID
        outcome: Outcome
        provider_share_percent: int
        at: datetime

        def apply(self, aggregate: Dispute) -> None:
            aggregate.status = DisputeStatus.RESOLVED
            aggregate.outcome = self.outcome
            aggregate.provider_share_percent = self.provider_share_percent
            aggregate.resolved_by = self.resolved_by
            aggregate.closed_at = self.at

    def withdraw(self, party_id: UUID, at: datetime) -> None:
        """The opener drops the complaint before resolution."""
        self._require_party(party_id)
        if party_id != self.opened_by:
            raise NotOpener("only the party who opened the dispute may withdraw it")
        self._require_undecided("withdraw")
        self.trigger_event(self.Withdrawn, order_id=self.order_id, withdrawn_by=party_id, at=at)

    class Withdrawn(Aggregate.Event):
        order_id: UUID
        withdrawn_by: UUID
        at: datetime

        def apply(self, aggregate: Dispute) -> None:
            aggregate.status = DisputeStatus.WITHDRAWN
            aggregate.closed_at = self.at

    # -- guards --------------------------------------------------------------------------------

    def _require_party(self, user_id: UUID) -> None:
        if not self.is_party(user_id):
            raise NotOrderParty("only a party of the order may act on its dispute")

    def _require_undecided(self, action: str) -> None:
        if self.status not in UNDECIDED:
            raise IllegalTransition(f"cannot {action} a dispute that is {self.status}")


def provider_share(outcome: str, provider_share_percent: int | None) -> int:
    """B's share of the slot: release 100, refund 0, split 1..99 (required for split only)."""
    if not is_outcome(outcome):
        raise InvalidOutcome(f"outcome must be one of {sorted(OUTCOMES)}")
    if outcome == "split":
        if provider_share_percent is None or not 1 <= provider_share_percent <= 99:
            raise InvalidOutcome("a split needs provider_share_percent from 1 to 99")
        return provider_share_percent
    expected = 100 if outcome == "release" else 0
    if provider_share_percent not in (None, expected):
        raise InvalidOutcome(f"{outcome} means provider_share_percent {expected}")
    return expected


def docket_id(order_id: UUID) -> UUID:
    """The id of the docket of ``order_id``."""
    return uuid5(NAMESPACE_URL, f"ring:dispute-docket:{order_id}")


class Docket(Aggregate):
    """The disputes of one order: at most one open at a time, none after a resolution.

    Saved together with the dispute it opens or closes, so two concurrent complaints about
    one order conflict (optimistic concurrency) and only one is opened.
    """

    @staticmethod
    def create_id(order_id: UUID, **_: Any) -> UUID:
        """One docket per order."""
        return docket_id(order_id)

    class Started(Aggregate.Created):
        order_id: UUID

    def __init__(self, order_id: UUID) -> None:
        self.order_id = order_id
        self.open_dispute_id: UUID | None = None
        self.resolved_dispute_id: UUID | None = None

    def file(self, dispute_id: UUID) -> None:
        """Record a new open dispute."""
        if self.open_dispute_id is not None:
            raise DisputeAlreadyOpen(
                f"dispute {self.open_dispute_id} about this order is still open",
                details={"dispute_id": str(self.open_dispute_id)},
            )
        if self.resolved_dispute_id is not None:
            raise OrderNotDisputable("a dispute about this order was already resolved")
        self.trigger_event(self.Filed, dispute_id=dispute_id)

    class Filed(Aggregate.Event):
        dispute_id: UUID

        def apply(self, aggregate: Docket) -> None:
            aggregate.open_dispute_id = self.dispute_id

    def close(self, dispute_id: UUID, resolved: bool) -> None:
        """The open dispute was resolved or withdrawn."""
        if self.open_dispute_id == dispute_id:
            self.trigger_event(self.Closed, dispute_id=dispute_id, resolved=resolved)

    class Closed(Aggregate.Event):
        dispute_id: UUID
        resolved: bool

        def apply(self, aggregate: Docket) -> None:
            aggregate.open_dispute_id = None
            if self.resolved:
                aggregate.resolved_dispute_id = self.dispute_id


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text.lower())


# -- exceptions: each has a stable machine-readable ``code`` ---------------------------------


class DisputeError(Exception):
    """Base of every error a client of the dispute service can cause."""

    code: ClassVar[str] = "dispute_error"

    def __init__(self, message: str = "", details: Any = None) -> None:
        super().__init__(message)
        self.details = details


class DisputeNotFound(DisputeError):
    code = "dispute_not_found"


class OrderNotFound(DisputeError):
    code = "order_not_found"


class NotOrderParty(DisputeError):
    code = "not_order_party"


class NotRespondent(DisputeError):
    code = "not_respondent"


class NotOpener(DisputeError):
    code = "not_opener"


class InvalidCategory(DisputeError):
    code = "invalid_category"


class InvalidOutcome(DisputeError):
    code = "invalid_outcome"


class InvalidEvidence(DisputeError):
    code = "invalid_evidence"


class ReasonRequired(DisputeError):
    code = "reason_required"


class IllegalTransition(DisputeError):
    code = "illegal_transition"


class DisputeAlreadyOpen(DisputeError):
    code = "dispute_already_open"


class OrderNotDisputable(DisputeError):
    code = "order_not_disputable"
