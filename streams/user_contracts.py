"""Contracts of the `user-events` topic. Public profile data only: no email, no password or
password hash ever leaves the event store."""

from __future__ import annotations

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


USER_CONTRACTS: tuple[type[EventEnvelope], ...] = (
    UserRegistered,
    UserProfileUpdated,
    UserPasswordChanged,
    UserDeactivated,
    UserAdminGranted,
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
