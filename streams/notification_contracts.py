"""Contracts of users' inboxes, on `user-events` (key = the user's id): notifications
received, counted into one another while unread, and read."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from streams.envelope import Contract, EventEnvelope

NotificationKind = Literal["trip_invite", "trip_update", "message", "activity_reminder"]


class InboxPayload(Contract):
    user_id: UUID


class NotificationAddedPayload(InboxPayload):
    notification_id: UUID
    type: NotificationKind
    title: str
    message: str
    trip_id: UUID | None
    related_user: UUID | None
    coalescing_key: str  # "": never counted into


class NotificationCoalescedPayload(InboxPayload):
    notification_id: UUID
    count: int = Field(ge=2)
    message: str  # the newest change's


class ActivityRemindedPayload(InboxPayload):
    notification_id: UUID
    activity_id: UUID
    starts_at: datetime
    title: str
    message: str
    trip_id: UUID | None


class NotificationReadPayload(InboxPayload):
    notification_id: UUID


class AllNotificationsReadPayload(InboxPayload):
    through: datetime


class InboxEnvelope(EventEnvelope):
    """An inbox event; its partition key is the user, not the inbox."""

    payload: InboxPayload

    def partition_key(self) -> UUID:
        return self.payload.user_id


class InboxOpened(InboxEnvelope):
    event_type: Literal["InboxOpened"] = "InboxOpened"
    schema_version: Literal[1] = 1
    payload: InboxPayload


class NotificationAdded(InboxEnvelope):
    event_type: Literal["NotificationAdded"] = "NotificationAdded"
    schema_version: Literal[1] = 1
    payload: NotificationAddedPayload


class NotificationCoalesced(InboxEnvelope):
    event_type: Literal["NotificationCoalesced"] = "NotificationCoalesced"
    schema_version: Literal[1] = 1
    payload: NotificationCoalescedPayload


class ActivityReminded(InboxEnvelope):
    event_type: Literal["ActivityReminded"] = "ActivityReminded"
    schema_version: Literal[1] = 1
    payload: ActivityRemindedPayload


class NotificationRead(InboxEnvelope):
    event_type: Literal["NotificationRead"] = "NotificationRead"
    schema_version: Literal[1] = 1
    payload: NotificationReadPayload


class AllNotificationsRead(InboxEnvelope):
    event_type: Literal["AllNotificationsRead"] = "AllNotificationsRead"
    schema_version: Literal[1] = 1
    payload: AllNotificationsReadPayload


INBOX_CONTRACTS: tuple[type[InboxEnvelope], ...] = (
    InboxOpened,
    NotificationAdded,
    NotificationCoalesced,
    ActivityReminded,
    NotificationRead,
    AllNotificationsRead,
)
