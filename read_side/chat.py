"""Chat reads: a room's messages, newest first or from a sequence on, as the seed shapes them.

Who may read a room is the event store's word (the `RoomAuthority`), never the history's: a
member removed a moment ago must not read on because a view has not caught up.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol
from uuid import UUID

from read_side.documents import MessageDocument
from read_side.store import ProjectionChanges, reached
from read_side.users import UserDirectory, UserProfileView
from read_side.views import View

CHAT_HISTORY = "chat_history"  # the projection that writes the history
RECENT_MESSAGES = 50  # what a subscription starts with (the seed's "last 50")


class Sender(View):
    id: UUID
    username: str
    avatar: str


class MessageView(View):
    """The seed's message, and its place in the room (`seq`: gap-free, in order)."""

    id: UUID
    trip_id: UUID
    seq: int
    sender: Sender
    content: str
    message_type: Literal["text", "system", "file"]
    reply_to: UUID | None
    is_edited: bool
    created_at: datetime
    updated_at: datetime


class RoomView(View):
    trip_id: UUID
    title: str
    member_count: int
    message_count: int  # the room's newest sequence
    last_message: MessageView | None
    unread_count: int  # messages posted while the caller had the room open nowhere, unread


@dataclass(frozen=True)
class MessagePage:
    """Messages in room order, and whether more lie beyond them in the direction read."""

    messages: list[MessageDocument]
    has_more: bool


class ChatHistory(Protocol):
    async def newest_seq(self, trip_id: UUID) -> int:
        """The highest sequence the history holds for the room (0: none)."""
        ...

    async def before(self, trip_id: UUID, seq: int | None, limit: int) -> MessagePage:
        """The `limit` messages just before `seq` (None: the newest), oldest first."""
        ...

    async def after(self, trip_id: UUID, seq: int, limit: int) -> MessagePage:
        """The first `limit` messages after `seq`, oldest first."""
        ...

    async def seq_of(self, trip_id: UUID, message_id: UUID) -> int | None:
        """The sequence of a message of this room (None: not in this room's history)."""
        ...


class RoomAuthority(Protocol):
    async def check_member(self, trip_id: UUID, user_id: UUID) -> tuple[str, int]:
        """The trip's title and member count, if the user is a member (else raise the
        write side's not-found error: a room is members-only)."""
        ...

    async def head(self, trip_id: UUID) -> int:
        """The room's newest sequence in the event store."""
        ...


class UnreadMessages(Protocol):
    async def unread_messages(self, user_id: UUID, trip_id: UUID) -> int:
        """What the user's unread `message` notification of the trip counts (0: none)."""
        ...


@dataclass(frozen=True)
class ChatReading:
    history: ChatHistory
    authority: RoomAuthority
    users: UserDirectory
    unread: UnreadMessages | None = None
    changes: ProjectionChanges | None = None
    timeout: float = 2.0


@dataclass(frozen=True)
class ReadMessages:
    messages: list[MessageView]
    has_more: bool
    behind: bool  # the history had not caught up with the room within the wait


async def caught_up(reading: ChatReading, trip_id: UUID) -> bool:
    """Wait (up to the timeout) until the history holds every message stored for the room
    when this was called: a message that got its 201 is in the next read."""
    head = await reading.authority.head(trip_id)

    async def holds_head() -> bool:
        return await reading.history.newest_seq(trip_id) >= head

    return await reached(reading.changes, CHAT_HISTORY, reading.timeout, holds_head)


async def room_messages(
    reading: ChatReading,
    trip_id: UUID,
    viewer_id: UUID,
    *,
    before: int | UUID | None = None,
    after: int | UUID | None = None,
    limit: int = RECENT_MESSAGES,
) -> ReadMessages:
    """A page of the room: just before `before` (default: the newest), or just after `after`."""
    await reading.authority.check_member(trip_id, viewer_id)
    fresh = await caught_up(reading, trip_id)
    if after is not None:
        page = await reading.history.after(trip_id, await _seq(reading, trip_id, after), limit)
    else:
        start = None if before is None else await _seq(reading, trip_id, before)
        page = await reading.history.before(trip_id, start, limit)
    views = await messages_with_senders(reading.users, page.messages)
    return ReadMessages(views, page.has_more, behind=not fresh)


async def room(reading: ChatReading, trip_id: UUID, viewer_id: UUID) -> tuple[RoomView, bool]:
    """The room's card, and whether its history was behind."""
    title, members = await reading.authority.check_member(trip_id, viewer_id)
    fresh = await caught_up(reading, trip_id)
    newest = await reading.history.before(trip_id, None, 1)
    last = await messages_with_senders(reading.users, newest.messages)
    count = newest.messages[0]["seq"] if newest.messages else 0
    view = RoomView(
        trip_id=trip_id,
        title=title,
        member_count=members,
        message_count=count,
        last_message=last[0] if last else None,
        unread_count=await reading.unread.unread_messages(viewer_id, trip_id)
        if reading.unread
        else 0,
    )
    return view, not fresh


async def _seq(reading: ChatReading, trip_id: UUID, mark: int | UUID) -> int:
    """A position given as a sequence, or as the id of a message of the room."""
    if isinstance(mark, int):
        return mark
    seq = await reading.history.seq_of(trip_id, mark)
    if seq is None:
        raise MessageMarkNotFoundError(mark)
    return seq


class MessageMarkNotFoundError(LookupError):
    def __init__(self, message_id: UUID) -> None:
        super().__init__(f"Message {message_id} is not in this room")


async def messages_with_senders(
    users: UserDirectory, documents: Collection[MessageDocument]
) -> list[MessageView]:
    profiles = await users.profiles({UUID(d["sender_id"]) for d in documents})
    return [message_view(d, profiles.get(UUID(d["sender_id"]))) for d in documents]


def message_view(document: MessageDocument, profile: UserProfileView | None) -> MessageView:
    sender_id = UUID(document["sender_id"])
    return MessageView(
        id=UUID(document["id"]),
        trip_id=UUID(document["trip_id"]),
        seq=document["seq"],
        sender=Sender(
            id=sender_id,
            username=profile.username if profile else "",
            avatar=profile.avatar_url if profile else "",
        ),
        content=document["content"],
        message_type=document["message_type"],  # type: ignore[arg-type]
        reply_to=None if document["reply_to"] is None else UUID(document["reply_to"]),
        is_edited=document["is_edited"],
        created_at=datetime.fromisoformat(document["created_at"]),
        updated_at=datetime.fromisoformat(document["updated_at"]),
    )
