"""The User aggregate, and the index aggregates that keep emails and usernames unique.

Uniqueness under concurrency comes from the event store: an index aggregate's id is derived
from the normalized email (or username), and it is saved in the same atomic write as the user.
Two registrations of one email both try to create version 1 of the same index; the store
accepts exactly one.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from write_side.traced_aggregate import TracedAggregate


def normalize_email(email: str) -> str:
    return email.strip().lower()


def normalize_username(username: str) -> str:
    return username.strip().lower()


class User(TracedAggregate):
    is_admin = False  # until granted (users registered and snapshotted before it existed too)

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
    @event("Claimed")
    def __init__(self, email: str, user_id: UUID) -> None:
        self.user_id = user_id

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
