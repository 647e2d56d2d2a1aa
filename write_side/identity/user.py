"""The User aggregate, and the index aggregates that keep emails and usernames unique.

Uniqueness under concurrency comes from the event store: an index aggregate's id is derived
from the normalized email (or username), and it is saved in the same atomic write as the user.
Two registrations of one email both try to create version 1 of the same index; the store
accepts exactly one.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from write_side.identity import account_tokens
from write_side.identity.account_tokens import PendingToken
from write_side.identity.errors import TokenInvalidError
from write_side.traced_aggregate import TracedAggregate


def normalize_email(email: str) -> str:
    return email.strip().lower()


def normalize_username(username: str) -> str:
    return username.strip().lower()


class User(TracedAggregate):
    """An account. Its tokens (password reset, email verification) are kept as digests: the
    last one issued of each kind is the only one that works, once, until it expires."""

    is_admin = False  # until granted (users registered and snapshotted before it existed too)
    # Accounts registered before verification existed were never sent a link: unverified.
    email_verified = False
    pending_email: str | None = None  # asked for, replaces `email` once verified
    reset_token: PendingToken | None = None
    reset_spent: str | None = None  # digest of the last reset token used
    verification: PendingToken | None = None
    verification_spent: str | None = None

    @event("Registered")
    def __init__(
        self,
        user_id: UUID,
        email: str,
        username: str,
        password_hash: str,
        first_name: str,
        last_name: str,
    ) -> None:
        self.email = email
        self.username = username
        self.password_hash = password_hash
        self.first_name = first_name
        self.last_name = last_name
        self.bio = ""
        self.avatar_url = ""
        self.is_active = True

    @staticmethod
    def create_id(user_id: UUID) -> UUID:
        """Users get their id before registering: it is the actor of their first event."""
        return user_id

    @event("ProfileUpdated")
    def update_profile(self, first_name: str, last_name: str, bio: str, avatar_url: str) -> None:
        self.first_name = first_name
        self.last_name = last_name
        self.bio = bio
        self.avatar_url = avatar_url

    @event("PasswordChanged")
    def change_password(self, password_hash: str) -> None:
        self.password_hash = password_hash

    @event("PasswordResetRequested")
    def request_password_reset(self) -> None:
        """Someone asked for a reset link to this account's address (mailed by AccountMail)."""

    @event("PasswordResetIssued")
    def issue_password_reset(self, token_digest: str, expires_at: datetime) -> None:
        self.reset_token = PendingToken(token_digest, expires_at)

    def check_reset_token(self, token: str, now: datetime) -> str:
        """The token's digest if it may reset the password now; else a token error."""
        if not self.is_active:
            raise TokenInvalidError()
        return account_tokens.check(token, self.reset_token, self.reset_spent, now)

    def reset_password(self, token: str, password_hash: str, now: datetime) -> None:
        self._password_reset(self.check_reset_token(token, now), password_hash)

    @event("PasswordReset")
    def _password_reset(self, token_digest: str, password_hash: str) -> None:
        self.password_hash = password_hash
        self.reset_token = None
        self.reset_spent = token_digest

    def request_email_change(self, email: str) -> bool:
        """Ask to replace the address by `email` (normalized) once it is verified; False when
        there is nothing to ask (it is the address already, or the one already pending)."""
        if email == self.email:
            if self.pending_email is not None:
                self._email_change_requested(email=email)  # back to the current address
            return False
        if email == self.pending_email:
            return False
        self._email_change_requested(email=email)
        return True

    @event("EmailChangeRequested")
    def _email_change_requested(self, email: str) -> None:
        self.pending_email = None if email == self.email else email
        self.verification = None  # a link to another address stops working

    def address_to_verify(self) -> str | None:
        """The address a verification link would prove now: the pending one, else the
        current one while unverified; None when there is none."""
        if self.pending_email is not None:
            return self.pending_email
        return None if self.email_verified else self.email

    def request_email_verification(self) -> bool:
        """Ask for a new verification link; False when no address awaits verification."""
        if self.address_to_verify() is None:
            return False
        self._email_verification_requested()
        return True

    @event("EmailVerificationRequested")
    def _email_verification_requested(self) -> None:
        pass

    @event("EmailVerificationIssued")
    def issue_email_verification(self, email: str, token_digest: str, expires_at: datetime) -> None:
        self.verification = PendingToken(token_digest, expires_at, email)

    def check_verification_token(self, token: str, now: datetime) -> PendingToken:
        if not self.is_active:
            raise TokenInvalidError()
        account_tokens.check(token, self.verification, self.verification_spent, now)
        assert self.verification is not None
        if self.verification.email != self.address_to_verify():
            raise TokenInvalidError()  # the address it proves is no longer asked for
        return self.verification

    def verify_email(self, token: str, now: datetime) -> str | None:
        """Prove the address the token was sent to. Returns the address it replaced (an
        email change, whose new address the caller must claim), or None."""
        pending = self.check_verification_token(token, now)
        if pending.email == self.email:
            self._email_verified(pending.digest)
            return None
        replaced = self.email
        self._email_changed(pending.email, pending.digest)
        return replaced

    @event("EmailVerified")
    def _email_verified(self, token_digest: str) -> None:
        self.email_verified = True
        self.verification = None
        self.verification_spent = token_digest

    @event("EmailChanged")
    def _email_changed(self, email: str, token_digest: str) -> None:
        self.email = email
        self.email_verified = True
        self.pending_email = None
        self.verification = None
        self.verification_spent = token_digest

    def deactivate(self) -> None:
        if self.is_active:
            self._deactivated()

    @event("Deactivated")
    def _deactivated(self) -> None:
        self.is_active = False

    def grant_admin(self) -> None:
        """An operator: may read the analytics of every trip together (never a trip's own)."""
        if not self.is_admin:
            self._admin_granted()

    @event("AdminGranted")
    def _admin_granted(self) -> None:
        self.is_admin = True


class EmailIndex(TracedAggregate):
    """Who holds an address. An address given up by an email change is released, and may
    be claimed again (a new version of the same index: still one writer wins)."""

    released = False

    @event("Claimed")
    def __init__(self, email: str, user_id: UUID) -> None:
        self.user_id = user_id

    @property
    def owner(self) -> UUID | None:
        return None if self.released else self.user_id

    @event("Released")
    def release(self) -> None:
        self.released = True

    @event("Reclaimed")
    def reclaim(self, user_id: UUID) -> None:
        self.user_id = user_id
        self.released = False

    @staticmethod
    def create_id(email: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/email/{normalize_email(email)}")


class UsernameIndex(TracedAggregate):
    @event("Claimed")
    def __init__(self, username: str, user_id: UUID) -> None:
        self.user_id = user_id

    @staticmethod
    def create_id(username: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/username/{normalize_username(username)}")
