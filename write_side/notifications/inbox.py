"""A user's inbox: the notifications they received and what they read, in one ordered stream.

Notifications are decided from other aggregates' events (a trip's, a room's) by a process
manager; the inbox is where they meet the user's reads, in one order. That order is what
makes coalescing ("one unread update per trip, counting the changes") and "read everything up
to now" replay the same in every rebuild. The state kept is small: how far each source was
taken in (so a redelivered event is recognised), the open coalesced notifications, the unread
ids, and the reminders already given for upcoming starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from write_side.traced_aggregate import TracedAggregate

INBOX_SNAPSHOT_INTERVAL = 50


class NotificationType(StrEnum):
    TRIP_INVITE = "trip_invite"
    TRIP_UPDATE = "trip_update"
    MESSAGE = "message"
    ACTIVITY_REMINDER = "activity_reminder"


# The types that gather, while unread, into one notification per trip.
COALESCED = frozenset({NotificationType.TRIP_UPDATE, NotificationType.MESSAGE})


@dataclass(frozen=True)
class Note:
    """A notification to deliver. `source` and `position` name where it comes from (a trip's
    stream and version, a room and sequence): a position already taken in is ignored."""

    id: UUID
    type: NotificationType
    title: str
    message: str
    trip_id: UUID | None
    related_user: UUID | None
    source: str
    position: int


def notification_id(source_event: str, recipient: UUID) -> UUID:
    """Deterministic: the event (or reminder) it comes from, and its recipient."""
    return uuid5(NAMESPACE_URL, f"/notifications/{source_event}/{recipient}")


class Inbox(TracedAggregate):
    # Every event names the inbox's user: it is the key of the user-events topic.
    @event("Opened")
    def __init__(self, user_id: UUID) -> None:
        self.user_id = user_id
        self.seen: dict[str, int] = {}
        self.open: dict[str, list[Any]] = {}  # coalescing key → [notification id, count]
        self.unread: dict[str, str] = {}  # notification id → its coalescing key, or ""
        self.reminded: dict[str, str] = {}  # activity id → start instant (ISO) reminded

    @staticmethod
    def create_id(user_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"/inbox/{user_id}")

    @property
    def unread_count(self) -> int:
        return len(self.unread)

    def count_of(self, notification_id: UUID) -> int:
        """How many notices an unread notification counts (1 unless coalesced)."""
        key = self.unread.get(str(notification_id), "")
        return int(self.open[key][1]) if key in self.open else 1

    def deliver(self, note: Note) -> UUID | None:
        """Take the note in; the notification it added or counted into (None: seen before)."""
        if self.seen.get(note.source, 0) >= note.position:
            return None
        key = f"{note.type}:{note.trip_id}" if note.type in COALESCED else ""
        if key and key in self.open:
            target, count = self.open[key]
            self._coalesced(
                user_id=self.user_id,
                notification_id=UUID(target),
                count=count + 1,
                message=note.message,
                source=note.source,
                position=note.position,
            )
            return UUID(target)
        self._added(
            user_id=self.user_id,
            notification_id=note.id,
            type=note.type.value,
            title=note.title,
            message=note.message,
            trip_id=note.trip_id,
            related_user=note.related_user,
            coalescing_key=key,
            source=note.source,
            position=note.position,
        )
        return note.id

    def remind(self, activity_id: UUID, starts_at: datetime, note: Note) -> UUID | None:
        """Once per activity and start instant: an activity moved is reminded again."""
        if self.reminded.get(str(activity_id)) == starts_at.isoformat():
            return None
        self._reminded(
            user_id=self.user_id,
            notification_id=note.id,
            activity_id=activity_id,
            starts_at=starts_at,
            title=note.title,
            message=note.message,
            trip_id=note.trip_id,
        )
        return note.id

    def read(self, notification_id: UUID) -> bool:
        if str(notification_id) not in self.unread:
            return False
        self._read(user_id=self.user_id, notification_id=notification_id)
        return True

    def read_room(self, trip_id: UUID) -> bool:
        """The user opened the trip's room: its unread messages notification is read."""
        opened = self.open.get(f"{NotificationType.MESSAGE}:{trip_id}")
        return opened is not None and self.read(UUID(opened[0]))

    def read_all(self, through: datetime) -> bool:
        """Everything received up to `through` is read (and nothing received later)."""
        if not self.unread:
            return False
        self._all_read(user_id=self.user_id, through=through)
        return True

    @event("NotificationAdded")
    def _added(
        self,
        user_id: UUID,
        notification_id: UUID,
        type: str,
        title: str,
        message: str,
        trip_id: UUID | None,
        related_user: UUID | None,
        coalescing_key: str,
        source: str,
        position: int,
    ) -> None:
        self.seen[source] = position
        self.unread[str(notification_id)] = coalescing_key
        if coalescing_key:
            self.open[coalescing_key] = [str(notification_id), 1]

    @event("NotificationCoalesced")
    def _coalesced(
        self,
        user_id: UUID,
        notification_id: UUID,
        count: int,
        message: str,
        source: str,
        position: int,
    ) -> None:
        self.seen[source] = position
        key = self.unread[str(notification_id)]
        self.open[key] = [str(notification_id), count]

    @event("ActivityReminded")
    def _reminded(
        self,
        user_id: UUID,
        notification_id: UUID,
        activity_id: UUID,
        starts_at: datetime,
        title: str,
        message: str,
        trip_id: UUID | None,
    ) -> None:
        self.reminded[str(activity_id)] = starts_at.isoformat()
        self.unread[str(notification_id)] = ""

    @event("NotificationRead")
    def _read(self, user_id: UUID, notification_id: UUID) -> None:
        key = self.unread.pop(str(notification_id))
        self.open.pop(key, None)

    @event("AllNotificationsRead")
    def _all_read(self, user_id: UUID, through: datetime) -> None:
        self.unread.clear()
        self.open.clear()
