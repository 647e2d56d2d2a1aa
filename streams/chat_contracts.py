"""Contracts of the `chat-events` topic: messages posted and edited, keyed by trip id so a
room's events stay in order on one partition."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter

from streams.envelope import Contract, EventEnvelope


class ChatMessagePostedPayload(Contract):
    trip_id: UUID
    seq: int = Field(ge=1)  # the message's place in its room: gap-free, in commit order
    sender_id: UUID
    content: str
    message_type: Literal["text", "system", "file"]
    reply_to: UUID | None


class ChatMessageEditedPayload(Contract):
    trip_id: UUID
    seq: int = Field(ge=1)
    content: str


class ChatEnvelope(EventEnvelope):
    """A chat event; its partition key is its room (the trip), not the message."""

    payload: ChatMessagePostedPayload | ChatMessageEditedPayload

    def partition_key(self) -> UUID:
        return self.payload.trip_id


class ChatMessagePosted(ChatEnvelope):
    event_type: Literal["ChatMessagePosted"] = "ChatMessagePosted"
    schema_version: Literal[1] = 1
    payload: ChatMessagePostedPayload


class ChatMessageEdited(ChatEnvelope):
    event_type: Literal["ChatMessageEdited"] = "ChatMessageEdited"
    schema_version: Literal[1] = 1
    payload: ChatMessageEditedPayload


CHAT_CONTRACTS: tuple[type[EventEnvelope], ...] = (ChatMessagePosted, ChatMessageEdited)

ChatEvent = Annotated[
    ChatMessagePosted | ChatMessageEdited,
    Field(discriminator="event_type"),
]

_chat_event = TypeAdapter[ChatEvent](ChatEvent)


def parse_chat_event(raw: bytes | str) -> EventEnvelope:
    """Parse one `chat-events` message value; raises pydantic.ValidationError if malformed."""
    event: EventEnvelope = _chat_event.validate_json(raw, extra="ignore")
    return event
