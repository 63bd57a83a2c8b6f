"""``Users``: register, authenticate and read users (event-sourced, schema ``gateway``)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from ring_gateway.domain import (
    AccountSignals,
    EmailClaim,
    EmailTaken,
    InvalidCredentials,
    Role,
    User,
    UserNotFound,
    check_password,
    email_domain,
    identifies_a_device,
)
from ring_gateway.pii import PersonalDataCipher, normalize_email
from ring_runtime.store import RingApplication


@dataclass(frozen=True)
class Profile:
    """A user with personal data decrypted, as the user sees themself."""

    id: UUID
    role: Role
    email: str
    display_name: str


class Users(RingApplication):
    """The identity application of the gateway."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hasher = PasswordHasher()
        self._cipher: PersonalDataCipher | None = None
        self._dummy_hash: str | None = None

    def configure(self, cipher: PersonalDataCipher, hasher: PasswordHasher | None = None) -> None:
        """Set the personal-data cipher (and optionally the argon2 parameters)."""
        self._cipher = cipher
        if hasher is not None:
            self.hasher = hasher
        self._dummy_hash = self.hasher.hash("not a password of anyone")

    @property
    def cipher(self) -> PersonalDataCipher:
        """The configured cipher (``configure`` must have been called)."""
        assert self._cipher is not None, "Users.configure(cipher) was not called"
        return self._cipher

    def register(self, email: str, password: str, role: Role, display_name: str) -> UUID:
        """Create a user; the email must not be taken.

        The password is hashed before the address is looked up, so a taken address answers no
        faster than a new one (no enumeration by timing).

        Raises:
            WeakPassword: the password is short, common or guessable.
            EmailTaken: the address already belongs to a user.
        """
        check_password(password, email, email.partition("@")[0], display_name)
        password_hash = self.hasher.hash(password)
        digest = self.cipher.email_digest(email)
        if self._claim(digest) is not None:
            raise EmailTaken("this email address is already registered")
        user = User(
            role=role,
            email_digest=digest,
            email_sealed=self.cipher.encrypt(normalize_email(email), "email"),
            display_name_sealed=self.cipher.encrypt(display_name, "display_name"),
            password_hash=password_hash,
        )
        claim = EmailClaim(email_digest=digest, user_id=user.id)
        try:
            self.save(user, claim)
        except IntegrityError:
            raise EmailTaken("this email address is already registered") from None
        return user.id

    def authenticate(self, email: str, password: str) -> User:
        """The user with this email and password.

        Raises:
            InvalidCredentials: unknown email or wrong password (same error, similar time).
        """
        claim = self._claim(self.cipher.email_digest(email))
        if claim is None:
            self._burn(password)
            raise InvalidCredentials("wrong email or password")
        user = self.get_user(claim.user_id)
        try:
            self.hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            raise InvalidCredentials("wrong email or password") from None
        if self.hasher.check_needs_rehash(user.password_hash):
            user.rehash_password(self.hasher.hash(password))
            self.save(user)
        return user

    def get_user(self, user_id: UUID) -> User:
        """The user with ``user_id``.

        Raises:
            UserNotFound: there is none.
        """
        try:
            user: User = self.repository.get(user_id)
        except AggregateNotFoundError:
            raise UserNotFound(f"no user {user_id}") from None
        if not isinstance(user, User):
            raise UserNotFound(f"no user {user_id}")
        return user

    def sign_in_from(self, user_id: UUID, client_address: str, user_agent: str) -> None:
        """Remember the device of a sign-in, where the address tells devices apart."""
        if not identifies_a_device(client_address):
            return
        device = self.cipher.device_digest(client_address, user_agent)
        user = self.get_user(user_id)
        if not user.has_seen(device):
            user.see_device(device)
            self.save(user)

    def signals(
        self, user_id: UUID, client_address: str = "", user_agent: str = ""
    ) -> AccountSignals:
        """What tells who is behind ``user_id``: its mail domain and devices (with the device of
        the current request, when given and telling)."""
        user = self.get_user(user_id)
        devices = set(user.devices)
        if identifies_a_device(client_address):
            devices.add(self.cipher.device_digest(client_address, user_agent))
        return AccountSignals(
            email_domain=email_domain(self.cipher.decrypt(user.email_sealed, "email")),
            devices=frozenset(devices),
        )

    def profile(self, user_id: UUID) -> Profile:
        """The user's profile with personal data decrypted."""
        user = self.get_user(user_id)
        return Profile(
            id=user.id,
            role=user.role,
            email=self.cipher.decrypt(user.email_sealed, "email"),
            display_name=self.cipher.decrypt(user.display_name_sealed, "display_name"),
        )

    def _claim(self, digest: str) -> EmailClaim | None:
        try:
            claim: EmailClaim = self.repository.get(EmailClaim.create_id(digest))
        except AggregateNotFoundError:
            return None
        return claim

    def _burn(self, password: str) -> None:
        """Spend the time of a verification so unknown emails are not told apart by timing."""
        if self._dummy_hash is not None:
            with contextlib.suppress(VerificationError, InvalidHashError):
                self.hasher.verify(self._dummy_hash, password)
