"""Contracts of the `user-events` topic. Public profile data only: no email, no password or
password hash, no account token or its digest ever leaves the event store (the steps of a
password reset or an email verification are published as bare facts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from streams.envelope import Contract, EventEnvelope
from streams.notification_contracts import (
    ActivityReminded,
    AllNotificationsRead,
    InboxOpened,
    NotificationAdded,
    NotificationCoalesced,
    NotificationRead,
)


class UserRegisteredPayload(Contract):
    username: str
    first_name: str
    last_name: str


class UserProfileUpdatedPayload(Contract):
    first_name: str
    last_name: str
    bio: str
    avatar_url: str


class NoPayload(Contract):
    pass


class TokenIssuedPayload(Contract):
    expires_at: datetime


class UserRegistered(EventEnvelope):
    event_type: Literal["UserRegistered"] = "UserRegistered"
    schema_version: Literal[1] = 1
    payload: UserRegisteredPayload


class UserProfileUpdated(EventEnvelope):
    event_type: Literal["UserProfileUpdated"] = "UserProfileUpdated"
    schema_version: Literal[1] = 1
    payload: UserProfileUpdatedPayload


class UserPasswordChanged(EventEnvelope):
    event_type: Literal["UserPasswordChanged"] = "UserPasswordChanged"
    schema_version: Literal[1] = 1
    payload: NoPayload = NoPayload()


class UserDeactivated(EventEnvelope):
    event_type: Literal["UserDeactivated"] = "UserDeactivated"
    schema_version: Literal[1] = 1
    payload: NoPayload = NoPayload()


class UserAdminGranted(EventEnvelope):
    event_type: Literal["UserAdminGranted"] = "UserAdminGranted"
    schema_version: Literal[1] = 1
    payload: NoPayload = NoPayload()


class UserPasswordResetRequested(EventEnvelope):
    event_type: Literal["UserPasswordResetRequested"] = "UserPasswordResetRequested"
    schema_version: Literal[1] = 1
    payload: NoPayload = NoPayload()


class UserPasswordResetIssued(EventEnvelope):
    """A reset link was mailed; it works once, until `expires_at`."""

    event_type: Literal["UserPasswordResetIssued"] = "UserPasswordResetIssued"
    schema_version: Literal[1] = 1
    payload: TokenIssuedPayload


class UserPasswordReset(EventEnvelope):
    """The password was set with a reset link: every session of the user ended."""

    event_type: Literal["UserPasswordReset"] = "UserPasswordReset"
    schema_version: Literal[1] = 1
    payload: NoPayload = NoPayload()


class UserEmailChangeRequested(EventEnvelope):
    event_type: Literal["UserEmailChangeRequested"] = "UserEmailChangeRequested"
    schema_version: Literal[1] = 1
    payload: NoPayload = NoPayload()


class UserEmailVerificationRequested(EventEnvelope):
    event_type: Literal["UserEmailVerificationRequested"] = "UserEmailVerificationRequested"
    schema_version: Literal[1] = 1
    payload: NoPayload = NoPayload()


class UserEmailVerificationIssued(EventEnvelope):
    event_type: Literal["UserEmailVerificationIssued"] = "UserEmailVerificationIssued"
    schema_version: Literal[1] = 1
    payload: TokenIssuedPayload


class UserEmailVerified(EventEnvelope):
    event_type: Literal["UserEmailVerified"] = "UserEmailVerified"
    schema_version: Literal[1] = 1
    payload: NoPayload = NoPayload()


class UserEmailChanged(EventEnvelope):
    """A new address, verified, replaced the old one."""

    event_type: Literal["UserEmailChanged"] = "UserEmailChanged"
    schema_version: Literal[1] = 1
    payload: NoPayload = NoPayload()


ACCOUNT_CONTRACTS: tuple[type[EventEnvelope], ...] = (
    UserPasswordResetRequested,
    UserPasswordResetIssued,
    UserPasswordReset,
    UserEmailChangeRequested,
    UserEmailVerificationRequested,
    UserEmailVerificationIssued,
    UserEmailVerified,
    UserEmailChanged,
)


USER_CONTRACTS: tuple[type[EventEnvelope], ...] = (
    UserRegistered,
    UserProfileUpdated,
    UserPasswordChanged,
    UserDeactivated,
    UserAdminGranted,
    *ACCOUNT_CONTRACTS,
    InboxOpened,
    NotificationAdded,
    NotificationCoalesced,
    ActivityReminded,
    NotificationRead,
    AllNotificationsRead,
)


UserEvent = Annotated[
    UserRegistered
    | UserProfileUpdated
    | UserPasswordChanged
    | UserDeactivated
    | UserAdminGranted
    | UserPasswordResetRequested
    | UserPasswordResetIssued
    | UserPasswordReset
    | UserEmailChangeRequested
    | UserEmailVerificationRequested
    | UserEmailVerificationIssued
    | UserEmailVerified
    | UserEmailChanged
    | InboxOpened
    | NotificationAdded
    | NotificationCoalesced
    | ActivityReminded
    | NotificationRead
    | AllNotificationsRead,
    Field(discriminator="event_type"),
]

_user_event = TypeAdapter[UserEvent](UserEvent)


def parse_user_event(raw: bytes | str) -> UserEvent:
    """Parse one `user-events` message value; raises pydantic.ValidationError if malformed."""
    return _user_event.validate_json(raw, extra="ignore")
