"""What goes on a room's live channel, and how a stored message becomes the seed's shape.

Every item on the channel is JSON: `{"kind": "message", "seq": N, "body": {...}}` for a stored
message (delivered in room order), `{"kind": "edit", "body": {...}}` for an edit, and
`{"kind": "signal", "from": connection, "body": {...}}` for what is never stored (typing,
joins), delivered to every socket but the one it came from. `body` is what the client gets.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson

from read_side.chat import MessageView, messages_with_senders
from read_side.documents import MessageDocument
from read_side.live import LiveFeed, room_channel
from read_side.users import UserDirectory
from write_side.chat.commands import PostedMessage


def document_of(posted: PostedMessage) -> MessageDocument:
    """A message the write side just stored, in the history's form."""
    return MessageDocument(
        id=str(posted.id),
        trip_id=str(posted.trip_id),
        seq=posted.seq,
        version=posted.version,
        sender_id=str(posted.sender_id),
        content=posted.content,
        message_type=posted.message_type,
        reply_to=None if posted.reply_to is None else str(posted.reply_to),
        is_edited=posted.is_edited,
        created_at=posted.created_at.isoformat(),
        updated_at=posted.updated_at.isoformat(),
    )


async def views_of(users: UserDirectory, posted: list[PostedMessage]) -> list[MessageView]:
    return await messages_with_senders(users, [document_of(p) for p in posted])


def chat_message(view: MessageView) -> dict[str, Any]:
    """The seed's broadcast of a message."""
    return {"type": "chat_message", "message": view.model_dump(mode="json")}


def message_edited(posted: PostedMessage) -> dict[str, Any]:
    """The seed's broadcast of an edit (with the message's room and place beside it)."""
    return {
        "type": "message_edited",
        "message_id": str(posted.id),
        "content": posted.content,
        "updated_at": posted.updated_at.isoformat(),
        "trip_id": str(posted.trip_id),
        "seq": posted.seq,
    }


async def publish_posted(
    feed: LiveFeed, users: UserDirectory, posted: PostedMessage
) -> MessageView:
    """Broadcast a stored message to its room, on every API instance."""
    (view,) = await views_of(users, [posted])
    item = {"kind": "message", "seq": posted.seq, "body": chat_message(view)}
    await feed.publish(room_channel(posted.trip_id), orjson.dumps(item))
    return view


async def publish_edited(feed: LiveFeed, posted: PostedMessage) -> None:
    item = {"kind": "edit", "body": message_edited(posted)}
    await feed.publish(room_channel(posted.trip_id), orjson.dumps(item))


async def publish_signal(feed: LiveFeed, trip_id: UUID, sender: str, body: dict[str, Any]) -> None:
    item = {"kind": "signal", "from": sender, "body": body}
    await feed.publish(room_channel(trip_id), orjson.dumps(item))
