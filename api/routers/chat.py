"""The seed's chat REST endpoints (history, the fallback post, room info), an edit, and the
WebSocket tickets browsers use instead of a token in the URL."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.chat_delivery import publish_edited, publish_posted, views_of
from api.chat_schemas import EditBody, MessageBody, TicketBody
from api.deps import (
    AccountsService,
    Acting,
    AppContainer,
    ChatService,
    CurrentClaims,
    Idempotent,
    RoomReading,
)
from api.envelope import ok
from api.errors import ApiError
from api.openapi import COMMAND, errors, success
from read_side import chat as chat_reads
from read_side.chat import MessageView, RoomView
from read_side.queries import MAX_PAGE_SIZE, freshness
from write_side.chat.commands import EditMessage, PostMessage
from write_side.chat.message import MessageType

router = APIRouter(
    prefix="/chat",
    tags=["chat"],
    responses=errors({**COMMAND, 404: "trip_not_found (not a member), message_not_found"}),
)

MARK = (
    "A room sequence (`seq`) or the id of a message of the room. `before`: the page just "
    "before it (default: the newest messages); `after`: the page just after it."
)


def _mark(value: str | None) -> int | UUID | None:
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        return UUID(value)
    except ValueError:
        raise ApiError(400, "invalid_cursor", "before/after: a sequence or a message id") from None


@router.get("/rooms/{trip_id}", responses=success(RoomView))
async def room_info(
    request: Request, trip_id: UUID, reading: RoomReading, claims: CurrentClaims
) -> JSONResponse:
    """The trip's room: its title, member count, newest sequence and last message."""
    room, behind = await chat_reads.room(reading, trip_id, claims.user_id)
    return ok(request, room, meta=freshness(not behind))


@router.get("/rooms/{trip_id}/messages", responses=success(list[MessageView]))
async def room_messages(
    request: Request,
    trip_id: UUID,
    reading: RoomReading,
    claims: CurrentClaims,
    before: Annotated[str | None, Query(max_length=40, description=MARK)] = None,
    after: Annotated[str | None, Query(max_length=40, description=MARK)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = chat_reads.RECENT_MESSAGES,
) -> JSONResponse:
    """A page of the room's messages, oldest first: the newest by default, then backwards
    with `before` (`meta.next_before`), or forwards from `after` (`meta.next_after`)."""
    if before is not None and after is not None:
        raise ApiError(400, "invalid_cursor", "Give before or after, not both")
    found = await chat_reads.room_messages(
        reading, trip_id, claims.user_id, before=_mark(before), after=_mark(after), limit=limit
    )
    messages = found.messages
    meta: dict[str, object] = {"has_more": found.has_more}
    if after is not None:
        meta["next_after"] = messages[-1].seq if messages and found.has_more else None
    else:
        meta["next_before"] = messages[0].seq if messages and found.has_more else None
    return ok(request, messages, meta={**meta, **freshness(not found.behind)})


@router.post(
    "/rooms/{trip_id}/messages", status_code=201, responses=success(MessageView, status=201)
)
async def post_message(
    request: Request,
    trip_id: UUID,
    body: MessageBody,
    chat: ChatService,
    container: AppContainer,
    acting: Acting,
    idempotent: Idempotent,
) -> JSONResponse:
    """Post a message (the fallback when the socket is down): stored, then broadcast to the
    room's sockets like any message. Retry safely with an `Idempotency-Key`."""
    command = PostMessage(trip_id, body.content, MessageType(body.message_type), body.reply_to)
    posted = await run_in_threadpool(chat.post, command, idempotent.applied_to(acting, body))
    view = await publish_posted(container.live.feed, container.users, posted)
    headers = {"Idempotent-Replayed": "true"} if posted.replayed else None
    return ok(request, view, status_code=201, headers=headers)


@router.patch("/rooms/{trip_id}/messages/{message_id}", responses=success(MessageView))
async def edit_message(
    request: Request,
    trip_id: UUID,
    message_id: UUID,
    body: EditBody,
    chat: ChatService,
    container: AppContainer,
    acting: Acting,
    idempotent: Idempotent,
) -> JSONResponse:
    """Edit your own message (only its sender may); broadcast as `message_edited`."""
    command = EditMessage(trip_id, message_id, body.content)
    edited = await run_in_threadpool(chat.edit, command, idempotent.applied_to(acting, body))
    await publish_edited(container.live.feed, edited)
    (view,) = await views_of(container.users, [edited])
    return ok(request, view)


@router.post("/tickets", status_code=201, responses=success(TicketBody, status=201))
def issue_ticket(
    request: Request, accounts: AccountsService, claims: CurrentClaims
) -> JSONResponse:
    """A single-use ticket for `ws://HOST/ws/chat/{trip_id}/?ticket=...`: browsers cannot
    set headers on a WebSocket, and a token in a URL ends up in access logs. It expires
    within seconds, is spent by the first socket, and lasts no longer than this token."""
    ticket, ttl = accounts.tokens.issue_ticket(claims)
    return ok(request, TicketBody(ticket=ticket, expires_in=ttl), status_code=201)
