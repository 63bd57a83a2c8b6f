"""Provider and Blocklist aggregates: who may take work, and whom Party A keeps away.

Pure domain code: no I/O and no clock reads; every command takes the instant ``at`` it happens.
Commands check invariants, then trigger an explicitly declared event class; only the event's
``apply`` mutates state, so replaying stored events never re-runs a check. Stored event classes must
never be renamed or moved (their path is stored with each event).

Why blocks live on a :class:`Blocklist` per owner and not on :class:`Provider`: a block is
Party A's decision about its own tasks, not a fact about the provider's qualification. Keeping
it on A's own aggregate means blocking needs no registered provider, A's blocks never contend
with admin decisions on the provider, and "whom has A blocked" is one aggregate read.

:func:`dispute_lost_by_provider` is the rule the performance record uses to count an
arbitrator's decision against a provider.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

#: At most this many skills per qualification.
MAX_SKILLS = 30
#: Namespace of blocklist ids: ``uuid5(BLOCKLIST_NAMESPACE, str(owner_id))``.
BLOCKLIST_NAMESPACE = UUID("8f6b2f0e-4c1d-4a57-9b7e-2d3c4b5a6e71")


def normalize_skills(skills: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Skills compared case-insensitively: trimmed, lower-case, unique, sorted."""
    return tuple(sorted({skill.strip().lower() for skill in skills if skill.strip()}))


#: A split leaves the provider this share of the slot or more without counting as lost.
SPLIT_WON_FROM_PERCENT = 50


def dispute_lost_by_provider(outcome: str, provider_share_percent: int) -> bool:
    """Whether an arbitrator's decision counts against the provider's performance record.

    ``refund`` (the owner gets the money back) is lost, ``release`` (the provider is paid in
    full) is won, and a ``split`` is lost when the provider keeps less than half of the slot
    (``provider_share_percent < 50``); an even split is not lost. A withdrawn dispute is never
    decided, so it is not lost either.
    """
    if outcome == "refund":
        return True
    if outcome == "split":
        return provider_share_percent < SPLIT_WON_FROM_PERCENT
    return False


class Verification(StrEnum):
    """Where a provider's qualification stands."""

    REGISTERED = "registered"  # no qualification submitted yet
    PENDING = "pending"  # submitted, waiting for an admin
    VERIFIED = "verified"
    REJECTED = "rejected"  # the provider may submit another qualification


class Provider(Aggregate):
    """A Party B user offering work; its id is the user id."""

    class Registered(Aggregate.Created):
        provider_id: UUID
        at: datetime

    @staticmethod
    def create_id(provider_id: UUID) -> UUID:
        """A provider's id is its user's id."""
        return provider_id

    def full_record_visible_to(self, user_id: UUID, *, admin: bool) -> bool:
        """Whether ``user_id`` may see the whole record (qualification reference, reviewer,
        earnings): the provider itself and admins; other parties get the public profile."""
        return admin or user_id == self.id

    def __init__(self, provider_id: UUID, at: datetime) -> None:
        self.registered_at = at
        self.verification = Verification.REGISTERED
        self.suspended = False
        self.kind = ""
        self.reference = ""
        self.skills: tuple[str, ...] = ()
        self.submitted_at: datetime | None = None
        self.decided_by: UUID | None = None
        self.decision_reason = ""

    @property
    def may_take_orders(self) -> bool:
        """Verified and not suspended."""
        return self.verification is Verification.VERIFIED and not self.suspended

    # -- qualification ---------------------------------------------------------------------

    class QualificationSubmitted(Aggregate.Event):
        kind: str
        reference: str
        skills: list[str]
        at: datetime

        def apply(self, aggregate: Provider) -> None:
            aggregate.verification = Verification.PENDING
            aggregate.kind = self.kind
            aggregate.reference = self.reference
            aggregate.skills = tuple(self.skills)
            aggregate.submitted_at = self.at
            aggregate.decided_by = None
            aggregate.decision_reason = ""

    def submit_qualification(
        self, kind: str, reference: str, skills: tuple[str, ...] | list[str], at: datetime
    ) -> None:
        """Hand in a qualification for review; allowed again after a rejection.

        A pending submission may be replaced; a verified provider keeps its verification and
        cannot submit (an admin suspends it if its qualification no longer holds).
        """
        if self.verification is Verification.VERIFIED:
            raise AlreadyVerified("the provider is already verified")
        if not kind.strip() or not reference.strip():
            raise InvalidQualification("a qualification needs a kind and a reference")
        normalized = normalize_skills(skills)
        if not normalized:
            raise InvalidQualification("a qualification names at least one skill")
        if len(normalized) > MAX_SKILLS:
            raise InvalidQualification(f"at most {MAX_SKILLS} skills, got {len(normalized)}")
        self.trigger_event(
            self.QualificationSubmitted,
            kind=kind.strip(),
            reference=reference.strip(),
            skills=list(normalized),
            at=at,
        )

    class Verified(Aggregate.Event):
        decided_by: UUID
        skills: list[str]
        at: datetime

        def apply(self, aggregate: Provider) -> None:
            aggregate.verification = Verification.VERIFIED
            aggregate.decided_by = self.decided_by

    def verify(self, admin_id: UUID, at: datetime) -> None:
        """An admin accepts the pending qualification."""
        self._require_pending("verify")
        self.trigger_event(self.Verified, decided_by=admin_id, skills=list(self.skills), at=at)

    class Rejected(Aggregate.Event):
        decided_by: UUID
        reason: str
        at: datetime

        def apply(self, aggregate: Provider) -> None:
            aggregate.verification = Verification.REJECTED
            aggregate.decided_by = self.decided_by
            aggregate.decision_reason = self.reason

    def reject(self, admin_id: UUID, reason: str, at: datetime) -> None:
        """An admin refuses the pending qualification, saying why."""
        self._require_pending("reject")
        if not reason.strip():
            raise ReasonRequired("a rejection needs a reason")
        self.trigger_event(self.Rejected, decided_by=admin_id, reason=reason.strip(), at=at)

    # -- suspension ------------------------------------------------------------------------

    class Suspended(Aggregate.Event):
        decided_by: UUID
        reason: str
        at: datetime

        def apply(self, aggregate: Provider) -> None:
            aggregate.suspended = True

    def suspend(self, admin_id: UUID, reason: str, at: datetime) -> None:
        """An admin stops the provider from taking new orders."""
        if self.suspended:
            raise IllegalTransition("the provider is already suspended")
        self.trigger_event(self.Suspended, decided_by=admin_id, reason=reason.strip(), at=at)

    class Reinstated(Aggregate.Event):
        decided_by: UUID
        at: datetime

        def apply(self, aggregate: Provider) -> None:
            aggregate.suspended = False

    def reinstate(self, admin_id: UUID, at: datetime) -> None:
        """An admin lifts the suspension; verification is as it was before."""
        if not self.suspended:
            raise IllegalTransition("the provider is not suspended")
        self.trigger_event(self.Reinstated, decided_by=admin_id, at=at)

    def _require_pending(self, action: str) -> None:
        if self.verification is not Verification.PENDING:
            raise IllegalTransition(
                f"cannot {action}: no qualification is pending (status {self.verification})"
            )


class Blocklist(Aggregate):
    """The providers one Party A keeps away from its own tasks."""

    class Opened(Aggregate.Created):
        owner_id: UUID

    @staticmethod
    def create_id(owner_id: UUID) -> UUID:
        """One blocklist per owner, found from the owner's id alone."""
        return blocklist_id(owner_id)

    def __init__(self, owner_id: UUID) -> None:
        self.owner_id = owner_id
        self.blocked: set[UUID] = set()

    class ProviderBlocked(Aggregate.Event):
        owner_id: UUID
        provider_id: UUID
        at: datetime

        def apply(self, aggregate: Blocklist) -> None:
            aggregate.blocked.add(self.provider_id)

    def block(self, provider_id: UUID, at: datetime) -> None:
        """Keep ``provider_id`` away from the owner's tasks; no-op if already blocked."""
        if provider_id == self.owner_id:
            raise CannotBlockSelf("an owner cannot block itself")
        if provider_id not in self.blocked:
            self.trigger_event(
                self.ProviderBlocked, owner_id=self.owner_id, provider_id=provider_id, at=at
            )

    class ProviderUnblocked(Aggregate.Event):
        owner_id: UUID
        provider_id: UUID
        at: datetime

        def apply(self, aggregate: Blocklist) -> None:
            aggregate.blocked.discard(self.provider_id)

    def unblock(self, provider_id: UUID, at: datetime) -> None:
        """Let ``provider_id`` take the owner's tasks again; no-op if not blocked."""
        if provider_id in self.blocked:
            self.trigger_event(
                self.ProviderUnblocked, owner_id=self.owner_id, provider_id=provider_id, at=at
            )


def blocklist_id(owner_id: UUID) -> UUID:
    """The id of ``owner_id``'s blocklist."""
    return uuid5(BLOCKLIST_NAMESPACE, str(owner_id))


# -- exceptions: each has a stable machine-readable ``code`` ---------------------------------


class MatchingError(Exception):
    """Base of every error a client of the matching service can cause."""

    code: ClassVar[str] = "matching_error"


class ProviderNotFound(MatchingError):
    code = "provider_not_found"


class TaskNotOnBoard(MatchingError):
    code = "task_not_found"


class NotYourself(MatchingError):
    """Only the provider itself, or the owner itself, may do this."""

    code = "not_yourself"


class InvalidQualification(MatchingError):
    code = "invalid_qualification"


class ReasonRequired(MatchingError):
    code = "reason_required"


class AlreadyVerified(MatchingError):
    code = "already_verified"


class IllegalTransition(MatchingError):
    code = "illegal_transition"


class CannotBlockSelf(MatchingError):
    code = "cannot_block_self"
