"""Identity: the ``User`` aggregate, the ``EmailClaim`` that keeps addresses unique, and the
rules that tell when two accounts look like one person (self-dealing, decision 0017).

Personal data never appears in plain text in these events: the application encrypts the email
and display name before they reach the aggregate and passes the email's keyed digest for lookups.
An ``EmailClaim`` has a deterministic id derived from that digest and is saved in the same
transaction as its user, so a second registration with the same address conflicts atomically.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate
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

    class Registered(Aggregate.Created):
        role: Role
        email_digest: str
        email_sealed: str
        display_name_sealed: str
        password_hash: str

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
        self.devices: list[str] = []

    class DeviceSeen(Aggregate.Event):
        device: str

        def apply(self, aggregate: User) -> None:
            kept = [d for d in aggregate.devices if d != self.device]
            aggregate.devices = [*kept, self.device][-DEVICES_KEPT:]

    def see_device(self, device: str) -> None:
        """Remember a keyed digest of a device the user signed in from (the latest
        :data:`DEVICES_KEPT`)."""
        self.trigger_event(self.DeviceSeen, device=device)

    def has_seen(self, device: str) -> bool:
        """Whether ``device`` is among the devices this user signed in from."""
        return device in self.devices

    class PasswordRehashed(Aggregate.Event):
        password_hash: str

        def apply(self, aggregate: User) -> None:
            aggregate.password_hash = self.password_hash

    def rehash_password(self, password_hash: str) -> None:
        """Store a hash made with the current argon2 parameters."""
        self.trigger_event(self.PasswordRehashed, password_hash=password_hash)


class EmailClaim(Aggregate):
    """The claim of one email address by one user (id derived from the address's digest)."""

    @staticmethod
    def create_id(email_digest: str) -> UUID:
        """The claim id of an address digest."""
        return uuid5(EMAIL_CLAIM_NAMESPACE, email_digest)

    class Claimed(Aggregate.Created):
        email_digest: str
        user_id: UUID

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


#: Devices remembered per user: enough for a person's phones and computers, bounded.
DEVICES_KEPT = 20

#: Mail domains anyone can sign up at: two accounts sharing one say nothing about who is
#: behind them, so they are never evidence.
WEBMAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "yahoo.com", "yahoo.com.cn", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com",
        "proton.me", "protonmail.com", "gmx.com", "gmx.de", "web.de", "mail.com", "mail.ru",
        "yandex.ru", "yandex.com", "zoho.com", "qq.com", "foxmail.com", "163.com", "126.com",
        "yeah.net", "sina.com", "sina.cn", "sohu.com", "aliyun.com", "139.com", "189.cn",
        "naver.com", "daum.net",
    }
)  # fmt: skip
#: Names reserved for documentation and tests (RFC 2606, RFC 6761): no organisation owns them.
RESERVED_DOMAINS = frozenset({"example.com", "example.net", "example.org"})
RESERVED_SUFFIXES = (".test", ".example", ".invalid", ".localhost")


class Evidence(StrEnum):
    """One sign that the owner of a task and a provider taking it are the same person."""

    #: Both addresses are at the same domain, and it is not a webmail domain: one organisation.
    SHARED_EMAIL_DOMAIN = "shared_email_domain"
    #: The provider works from a device (client address and browser) the owner signed in from.
    SHARED_DEVICE = "shared_device"


class Verdict(StrEnum):
    """What happens to an order whose two parties look alike."""

    ALLOW = "allow"
    FLAG = "flag"
    REFUSE = "refuse"


@dataclass(frozen=True)
class AccountSignals:
    """What the gateway knows about who is behind an account (no plain personal data)."""

    email_domain: str
    devices: frozenset[str]


def email_domain(email: str) -> str:
    """The domain of an address, lower-cased."""
    return email.rpartition("@")[2].strip().lower()


def names_an_organisation(domain: str) -> bool:
    """Whether addresses at ``domain`` belong to one organisation (not webmail, not reserved)."""
    return not (
        domain in WEBMAIL_DOMAINS
        or domain in RESERVED_DOMAINS
        or domain.endswith(RESERVED_SUFFIXES)
    )


def identifies_a_device(client_address: str) -> bool:
    """Whether a client address can tell devices apart: a public one. Behind the platform's
    own proxies and the web app every client shares a private or loopback address, which says
    nothing (the web app's users count once it is a trusted proxy, decision 0017)."""
    try:
        return ipaddress.ip_address(client_address).is_global
    except ValueError:
        return False


def self_dealing_evidence(owner: AccountSignals, provider: AccountSignals) -> list[Evidence]:
    """Every sign that ``owner`` (Party A of a task) and ``provider`` (Party B taking it) are
    one person. A verified identity, a business licence or a payment instrument would be
    evidence too, but Ring holds none of them for Party A (decision 0017)."""
    evidence: list[Evidence] = []
    if owner.email_domain == provider.email_domain and names_an_organisation(owner.email_domain):
        evidence.append(Evidence.SHARED_EMAIL_DOMAIN)
    if owner.devices & provider.devices:
        evidence.append(Evidence.SHARED_DEVICE)
    return evidence


def self_dealing_verdict(evidence: Iterable[Evidence]) -> Verdict:
    """One sign is flagged for review (colleagues share a domain, an office shares an address);
    two agreeing signs refuse the order."""
    count = len(set(evidence))
    return Verdict.ALLOW if count == 0 else Verdict.FLAG if count == 1 else Verdict.REFUSE


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


class SelfDealingSuspected(IdentityError):
    """The provider and the task's owner look like one person; the attempt is flagged."""

    code = "self_dealing_suspected"


class UserNotFound(IdentityError):
    """No user has this id."""

    code = "user_not_found"
