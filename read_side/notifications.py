"""Notification reads: a user's notifications, newest first, and their unread count.

Reads wait (up to the consistency timeout) until the projection has applied every event of
the caller's inbox stored when the read began: a notification marked read is read in the
next list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol
from uuid import UUID

from read_side.store import ProjectionChanges, reached
from read_side.views import View

NOTIFICATIONS = "notifications"  # the projection that writes them
Kind = Literal["trip_invite", "trip_update", "message", "activity_reminder"]


class NotificationView(View):
    """The seed's notification, with how many changes or messages it counts."""

    id: UUID
    type: Kind
    title: str
    message: str
    related_trip: UUID | None
    related_user: UUID | None
    is_read: bool
    count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class NotificationPage:
    items: list[NotificationView]
    next_cursor: str | None
    unread_count: int


class NotificationStore(Protocol):
    async def page(
        self,
        user_id: UUID,
        *,
        is_read: bool | None,
        kind: str | None,
        limit: int,
        cursor: str | None,
    ) -> NotificationPage: ...

    async def get(self, user_id: UUID, notification_id: UUID) -> NotificationView | None:
        """The user's notification (None for anyone else's)."""
        ...

    async def unread_messages(self, user_id: UUID, trip_id: UUID) -> int:
        """What the user's unread `message` notification of the trip counts (0: none)."""
        ...

    async def applied(self, inbox_id: UUID) -> int:
        """The last version of the inbox the projection applied (0: none)."""
        ...


class InboxVersions(Protocol):
    async def version(self, user_id: UUID) -> tuple[UUID, int]:
        """The user's inbox id and its version in the event store (0: no inbox yet)."""
        ...


@dataclass(frozen=True)
class NotificationReading:
    store: NotificationStore
    inboxes: InboxVersions
    changes: ProjectionChanges | None = None
    timeout: float = 2.0


async def caught_up(
    reading: NotificationReading, user_id: UUID, version: int | None = None
) -> bool:
    """Wait until the user's notifications reflect their inbox at `version` (default: as it
    is now in the event store); False when the wait ran out."""
    inbox_id, current = await reading.inboxes.version(user_id)
    wanted = current if version is None else version

    async def applied() -> bool:
        return await reading.store.applied(inbox_id) >= wanted

    return await reached(reading.changes, NOTIFICATIONS, reading.timeout, applied)
