"""Identity: the ``User`` aggregate and the ``EmailClaim`` that keeps addresses unique.

Personal data never appears in plain text in these events: the application encrypts the email
and display name before they reach the aggregate and passes the email's keyed digest for lookups.
An ``EmailClaim`` has a deterministic id derived from that digest and is saved in the same
transaction as its user, so a second registration with the same address conflicts atomically.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

#: Namespace of the deterministic ids of email claims.
EMAIL_CLAIM_NAMESPACE = UUID("4d8e2a8c-3f59-4a8e-9a51-6f1f2b7d0c11")


class Role(StrEnum):
    """What a user is on the platform."""

    PARTY_A = "party_a"
    PARTY_B = "party_b"
    ADMIN = "admin"


class User(Aggregate):
    """A person who signs in: role, password hash and encrypted personal data."""

    @event("Registered")
    def __init__(
        self,
        *,
        role: Role,
        email_digest: str,
        email_sealed: str,
        display_name_sealed: str,
        password_hash: str,
    ) -> None:
        self.role = Role(role)
        self.email_digest = email_digest
        self.email_sealed = email_sealed
        self.display_name_sealed = display_name_sealed
        self.password_hash = password_hash

    @event("PasswordRehashed")
    def rehash_password(self, password_hash: str) -> None:
        """Store a hash made with the current argon2 parameters."""
        self.password_hash = password_hash


class EmailClaim(Aggregate):
    """The claim of one email address by one user (id derived from the address's digest)."""

    @staticmethod
    def create_id(email_digest: str) -> UUID:
        """The claim id of an address digest."""
        return uuid5(EMAIL_CLAIM_NAMESPACE, email_digest)

    @event("Claimed")
    def __init__(self, *, email_digest: str, user_id: UUID) -> None:
        self.user_id = user_id


#: Shortest password accepted, not counting surrounding whitespace.
MIN_PASSWORD_LENGTH = 10
#: zxcvbn's 30,000 most common passwords (a maintained list, not a hand-written one).
_COMMON_PASSWORDS = frozenset(FREQUENCY_LISTS["passwords"])


def check_password(password: str, *hints: str) -> None:
    """Refuse a password that is short, common, or guessable from the user's own details.

    ``hints`` are what an attacker knows (email, display name); zxcvbn penalises passwords
    built from them. Score 2 is "somewhat guessable": protection from unthrottled online
    attacks, which is what a rate-limited login faces.

    Raises:
        WeakPassword: the password fails one of the rules; the message says which.
    """
    if len(password.strip()) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if password.lower() in _COMMON_PASSWORDS or "".join(password.split()).lower() in (
        _COMMON_PASSWORDS
    ):
        raise WeakPassword("this password is one of the most common ones; choose another")
    if zxcvbn(password[:100], user_inputs=[h for h in hints if h])["score"] < 2:
        raise WeakPassword("this password is too easy to guess; use a few unrelated words")


class IdentityError(Exception):
    """Base of the identity errors a client can cause."""

    code = "identity_error"


class EmailTaken(IdentityError):
    """Another user already registered this email address."""

    code = "email_taken"


class WeakPassword(IdentityError):
    """A new password is too short, too common or too easy to guess."""

    code = "weak_password"


class InvalidCredentials(IdentityError):
    """Unknown email or wrong password (deliberately not told apart)."""

    code = "invalid_credentials"


class UserNotFound(IdentityError):
    """No user has this id."""

    code = "user_not_found"
