"""What chat clients send: REST bodies, and the socket's client messages (the seed's types)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from api.schemas import Body
from api.text import lines
from write_side.chat.message import MAX_MESSAGE_LENGTH

Content = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_MESSAGE_LENGTH),
    AfterValidator(lines),
]
# Clients post text and files (a link or a name); system messages are Itinera's own.
ClientMessageType = Literal["text", "file"]
Key = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class MessageBody(Body):
    content: Content
    message_type: ClientMessageType = "text"
    reply_to: UUID | None = None


class EditBody(Body):
    content: Content


class TicketBody(BaseModel):
    ticket: str
    expires_in: int


class ClientMessage(BaseModel):
    # Unknown fields are ignored on the socket: clients may add their own (a local id).
    model_config = ConfigDict(extra="ignore", frozen=True)


class SubscribeIn(ClientMessage):
    type: Literal["subscribe"]
    trip_id: UUID | None = None
    # Resume: the last message seen, by room sequence or id; the gap is sent, nothing more.
    after: int | UUID | None = Field(default=None, union_mode="left_to_right")


class ChatMessageIn(ClientMessage):
    type: Literal["chat_message"]
    content: Content
    trip_id: UUID | None = None
    message_type: ClientMessageType = "text"
    reply_to: UUID | None = None
    idempotency_key: Key | None = None  # a retry with the same key posts once


class EditMessageIn(ClientMessage):
    type: Literal["edit_message"]
    message_id: UUID
    content: Content
    idempotency_key: Key | None = None


class TypingIn(ClientMessage):
    type: Literal["typing"]
    trip_id: UUID | None = None
    is_typing: bool = True


class PingIn(ClientMessage):
    type: Literal["ping"]


Incoming = Annotated[
    SubscribeIn | ChatMessageIn | EditMessageIn | TypingIn | PingIn, Field(discriminator="type")
]
