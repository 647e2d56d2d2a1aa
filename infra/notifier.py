"""Delivers the notifier projection's notices into inboxes, then pushes each new or counted
notification, with the unread count, to the recipient's sockets on every API instance.

Recipients are the trip's members now, from the event store (a stale read model must not
widen who hears of a trip), but never the actor, and, for messages, never someone with the
room open on a socket. The inbox recognises a notice it took in before (by source and
position), so a redelivered event notifies no one twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from projections.notifier import Notice
from read_side.live import LiveFeed, Presence, room_channel, user_channel
from read_side.users import UserDirectory
from write_side.context import CommandContext
from write_side.notifications.inbox import Note, NotificationType, notification_id
from write_side.notifications.service import Delivered, Notifications
from write_side.trips.trip import Trip

TITLES = {
    "trip_invite": "You were added to {title}",
    "trip_update": "{title} changed",
    "message": "New messages in {title}",
    "draft_ready": "An itinerary draft for {title} is ready",
    "draft_failed": "An itinerary draft for {title} failed",
}
# The seed's notification types: a draft's news is an update of its trip.
TYPES = {
    "trip_invite": NotificationType.TRIP_INVITE,
    "trip_update": NotificationType.TRIP_UPDATE,
    "message": NotificationType.MESSAGE,
    "draft_ready": NotificationType.TRIP_UPDATE,
    "draft_failed": NotificationType.TRIP_UPDATE,
}


class Notifier:
    def __init__(
        self,
        notifications: Notifications,
        users: UserDirectory,
        feed: LiveFeed,
        presence: Presence,
    ) -> None:
        self._notifications = notifications
        self._users = users
        self._feed = feed
        self._presence = presence

    async def __call__(self, notices: Sequence[Notice]) -> None:
        """A batch's notices: each trip's members are found once, each recipient's inbox is
        written once, in the notices' order."""
        actors = await self._users.usernames({UUID(n["actor_id"]) for n in notices})
        trips: dict[UUID, tuple[Trip | None, list[UUID]]] = {}
        for trip_id in dict.fromkeys(UUID(n["trip_id"]) for n in notices):
            trips[trip_id] = await asyncio.to_thread(self._notifications.members, trip_id)
        due: dict[UUID, list[tuple[Note, CommandContext]]] = {}
        for notice in notices:
            trip, members = trips[UUID(notice["trip_id"])]
            if trip is None:
                continue  # gone or archived: nobody hears of it
            name = actors.get(UUID(notice["actor_id"]), "Someone")
            for recipient, note in await self._notes(notice, trip.title, members, name):
                context = CommandContext(
                    note.related_user or recipient,
                    UUID(notice["correlation_id"]),
                    causation_id=UUID(notice["key"]),
                )
                due.setdefault(recipient, []).append((note, context))
        for recipient, notes in due.items():
            done = await asyncio.to_thread(self._notifications.deliver_all, recipient, notes)
            latest = {
                d.notification_id: (note, d) for (note, _), d in zip(notes, done, strict=True)
            }
            for note, delivered in latest.values():
                await push(self._feed, recipient, note, delivered)

    async def _notes(
        self, notice: Notice, title: str, members: list[UUID], actor_name: str
    ) -> list[tuple[UUID, Note]]:
        """Who hears of a notice, and what each is told."""
        trip_id, actor = UUID(notice["trip_id"]), UUID(notice["actor_id"])
        recipients = [m for m in members if m != actor]
        if notice["kind"] == "trip_invite":
            recipients = [m for m in recipients if str(m) == notice["invited"]]
        elif notice["invited"] is not None:  # the others hear of the new member as an update
            recipients = [m for m in recipients if str(m) != notice["invited"]]
        if notice["kind"] == "message":
            here = await self._presence.present(room_channel(trip_id), [str(m) for m in recipients])
            recipients = [m for m in recipients if str(m) not in here]
        return [
            (
                recipient,
                Note(
                    id=notification_id(notice["key"], recipient),
                    type=TYPES[notice["kind"]],
                    title=TITLES[notice["kind"]].format(title=title),
                    message=_message(notice, actor_name),
                    trip_id=trip_id,
                    related_user=actor,
                    source=notice["source"],
                    position=notice["position"],
                ),
            )
            for recipient in recipients
        ]


def _message(notice: Notice, actor_name: str) -> str:
    if notice["kind"] == "trip_invite":
        return f"{actor_name} added you to the trip"
    if notice["kind"] in ("draft_ready", "draft_failed"):
        return notice["summary"][0].upper() + notice["summary"][1:]
    return f"{actor_name}: {notice['summary']}"


async def push(feed: LiveFeed, recipient: UUID, note: Note, delivered: Delivered) -> None:
    """Tell the recipient's sockets (if it added or counted a notification)."""
    if delivered.notification_id is None:
        return
    now = datetime.now(UTC).isoformat()
    body: dict[str, Any] = {
        "type": "notification",
        "notification": {
            "id": str(delivered.notification_id),
            "type": note.type.value,
            "title": note.title,
            "message": note.message,
            "related_trip": None if note.trip_id is None else str(note.trip_id),
            "related_user": None if note.related_user is None else str(note.related_user),
            "is_read": False,
            "count": delivered.count,
            "created_at": now,
            "updated_at": now,
        },
        "unread_count": delivered.unread_count,
    }
    await feed.publish(user_channel(recipient), orjson.dumps(body))
