"""Posts the chat announcements projection's system messages, then pokes the room's sockets.

Each announcement is posted under a command key made from the event it announces, in the
name of whoever caused it: a redelivered event finds its message already posted.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from uuid import UUID

from projections.chat_announcements import Announcement
from read_side.live import LiveFeed, poke, room_channel
from read_side.users import UserDirectory
from write_side.chat.service import Chat
from write_side.context import CommandContext, CommandKey


class ChatAnnouncer:
    def __init__(self, chat: Chat, users: UserDirectory, feed: LiveFeed) -> None:
        self._chat = chat
        self._users = users
        self._feed = feed

    async def __call__(self, announcements: Sequence[Announcement]) -> None:
        named = {UUID(a["user_id"]) for a in announcements if a["user_id"]}
        usernames = await self._users.usernames(named)
        for announcement in announcements:
            content = text_of(announcement, usernames)
            context = CommandContext(
                UUID(announcement["actor_id"]),
                uuid.uuid4(),
                CommandKey(f"announce:{announcement['key']}", announcement["key"]),
                causation_id=UUID(announcement["key"]),
            )
            trip_id = UUID(announcement["trip_id"])
            posted = await asyncio.to_thread(self._chat.announce, trip_id, content, context)
            if posted is not None:
                await self._feed.publish(room_channel(trip_id), poke(posted.seq))


def text_of(announcement: Announcement, usernames: dict[UUID, str]) -> str:
    user_id = announcement["user_id"]
    who = usernames.get(UUID(user_id), "A member") if user_id else "A member"
    if announcement["kind"] == "member_joined":
        return f"{who} joined the trip"
    if announcement["kind"] == "member_left":
        return f"{who} left the trip"
    start, end = announcement["start_date"], announcement["end_date"]
    if start and end:
        return f"The trip's dates changed: {start} to {end}"
    return f"The trip now {'starts on ' + start if start else 'ends on ' + str(end)}"
