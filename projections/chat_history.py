"""The chat history projection: every message of every room, in room order. Pure; no I/O."""

from __future__ import annotations

from projections.engine.projection import MissingStateError, Projection
from read_side.documents import MessageDocument
from streams.chat_contracts import ChatMessageEdited, ChatMessagePosted
from streams.topics import CHAT_EVENTS


def _working_copy(message: MessageDocument) -> MessageDocument:
    return message.copy()


CHAT_HISTORY: Projection[MessageDocument] = Projection(
    name="chat_history", version=1, topics=(CHAT_EVENTS,), begin=_working_copy
)


@CHAT_HISTORY.applies(ChatMessagePosted)
def _posted(message: MessageDocument | None, event: ChatMessagePosted) -> MessageDocument:
    p = event.payload
    at = event.occurred_at.isoformat()
    return MessageDocument(
        id=str(event.aggregate_id),
        trip_id=str(p.trip_id),
        seq=p.seq,
        version=event.aggregate_version,
        sender_id=str(p.sender_id),
        content=p.content,
        message_type=p.message_type,
        reply_to=None if p.reply_to is None else str(p.reply_to),
        is_edited=False,
        created_at=at,
        updated_at=at,
    )


@CHAT_HISTORY.applies(ChatMessageEdited)
def _edited(message: MessageDocument | None, event: ChatMessageEdited) -> MessageDocument:
    if message is None:
        raise MissingStateError(event)
    message["content"] = event.payload.content
    message["is_edited"] = True
    message["updated_at"] = event.occurred_at.isoformat()
    message["version"] = event.aggregate_version
    return message
