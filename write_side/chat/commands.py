"""Chat commands, and what the chat service answers with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from write_side.chat.message import ChatMessage, MessageType


@dataclass(frozen=True)
class PostMessage:
    trip_id: UUID
    content: str
    message_type: MessageType = MessageType.TEXT
    reply_to: UUID | None = None


@dataclass(frozen=True)
class EditMessage:
    trip_id: UUID  # the room the client names: a message of another room is not found
    message_id: UUID
    content: str


@dataclass(frozen=True)
class PostedMessage:
    """A message as stored, for the caller to answer and broadcast."""

    id: UUID
    trip_id: UUID
    seq: int
    sender_id: UUID
    content: str
    message_type: str
    reply_to: UUID | None
    created_at: datetime
    updated_at: datetime
    is_edited: bool
    version: int
    replayed: bool = False  # a retry of a keyed command: this is its first result

    @classmethod
    def of(cls, message: ChatMessage, *, replayed: bool = False) -> PostedMessage:
        return cls(
            id=message.id,
            trip_id=message.trip_id,
            seq=message.seq,
            sender_id=message.sender_id,
            content=message.content,
            message_type=message.message_type,
            reply_to=message.reply_to,
            created_at=message.created_on,
            updated_at=message.modified_on,
            is_edited=message.is_edited,
            version=message.version,
            replayed=replayed,
        )
