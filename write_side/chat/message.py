"""A chat message: an aggregate per message, at a slot of its room.

A room is not an aggregate: it would grow with every message, and posting would load it. A
message's id is derived from its trip and its room sequence (`slot_id`), so the event store's
uniqueness of (aggregate id, version 1) is what hands out sequence numbers: two messages
racing for the same slot cannot both be stored, and the loser takes the next one. Sequences
are gap-free and follow commit order, and posting costs the same in a room of any size.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from write_side.errors import MessageContentError, NotMessageSenderError, SystemMessageEditError
from write_side.traced_aggregate import TracedAggregate

MAX_MESSAGE_LENGTH = 4000


class MessageType(StrEnum):
    TEXT = "text"
    SYSTEM = "system"  # written by Itinera itself, from the trip's events
    FILE = "file"


def slot_id(trip_id: UUID, seq: int) -> UUID:
    """The id of the message at `seq` in the trip's room."""
    return uuid5(NAMESPACE_URL, f"/trips/{trip_id}/chat/{seq}")


def checked_content(content: str) -> str:
    if not content.strip():
        raise MessageContentError("A message cannot be empty")
    if len(content) > MAX_MESSAGE_LENGTH:
        raise MessageContentError(f"A message holds at most {MAX_MESSAGE_LENGTH} characters")
    return content


class ChatMessage(TracedAggregate):
    @event("Posted")
    def __init__(
        self,
        trip_id: UUID,
        seq: int,
        sender_id: UUID,
        content: str,
        message_type: str,
        reply_to: UUID | None,
    ) -> None:
        self.trip_id = trip_id
        self.seq = seq
        self.sender_id = sender_id
        self.content = content
        self.message_type = message_type
        self.reply_to = reply_to
        self.is_edited = False

    @staticmethod
    def create_id(trip_id: UUID, seq: int) -> UUID:
        return slot_id(trip_id, seq)

    @classmethod
    def post(
        cls,
        *,
        trip_id: UUID,
        seq: int,
        sender_id: UUID,
        content: str,
        message_type: MessageType,
        reply_to: UUID | None,
    ) -> ChatMessage:
        return cls(
            trip_id=trip_id,
            seq=seq,
            sender_id=sender_id,
            content=checked_content(content),
            message_type=message_type.value,
            reply_to=reply_to,
        )

    def edit(self, editor_id: UUID, content: str) -> None:
        if editor_id != self.sender_id:
            raise NotMessageSenderError(self.id)
        if self.message_type == MessageType.SYSTEM:
            raise SystemMessageEditError(self.id)
        self._edited(trip_id=self.trip_id, seq=self.seq, content=checked_content(content))

    @event("Edited")
    def _edited(self, trip_id: UUID, seq: int, content: str) -> None:
        # trip_id and seq ride along so every published event names its room (its key).
        self.content = content
        self.is_edited = True
