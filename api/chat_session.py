"""One chat socket, after it was accepted and authenticated: the seed's protocol.

Four tasks share the connection: `_receive` handles what the client sends, `_send` writes the
bounded outgoing queue, `_live` turns the room's channel into messages in room order (dropping
what was already sent, filling a gap from the event store), and `_recheck` disconnects a
revoked or expired token (4001) and a member removed from the trip (4003), every few seconds
and at once when a system message (someone left) arrives. The first of them to end closes the
socket with its code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import anyio
import anyio.abc
import orjson
from fastapi import WebSocket, WebSocketDisconnect
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from api.chat_delivery import publish_edited, publish_posted, publish_signal
from api.chat_schemas import (
    ChatMessageIn,
    EditMessageIn,
    Incoming,
    PingIn,
    SubscribeIn,
    TypingIn,
)
from api.errors import code_of
from api.room_order import MAX_GAP, RoomOrder
from api.socket_auth import FORBIDDEN, TOO_SLOW, UNAUTHORIZED, Closing
from api.throttle import Limit, count
from infra.wiring import metrics
from read_side import chat as chat_reads
from read_side.chat import ChatReading
from read_side.live import RESYNC, LiveFeed, Presence, Subscription, room_channel
from write_side.chat.commands import EditMessage, PostMessage
from write_side.chat.message import MessageType
from write_side.chat.service import Chat
from write_side.context import CommandContext, CommandKey
from write_side.errors import AuthenticationError, DomainError, TripNotFoundError
from write_side.identity.ports import RateLimiter
from write_side.identity.tokens import Claims, TokenService
from write_side.notifications.service import Notifications

log = logging.getLogger(__name__)

INTERNAL_ERROR = 1011
PRESENCE_RECHECKS = 3  # presence outlives this many missed rechecks (then it expires)
PRESENCE_AFTER_CLOSE = 3.0  # seconds: longer than the notifier's usual lag
LEAVE_SECONDS = 1.0  # to tell the room a socket left, even as the session is cancelled

_incoming: TypeAdapter[Any] = TypeAdapter(Incoming)
_SENT = metrics.WS_MESSAGES.labels("chat", "sent")
_RECEIVED = metrics.WS_MESSAGES.labels("chat", "received")


@dataclass(frozen=True)
class SessionServices:
    chat: Chat
    reading: ChatReading
    feed: LiveFeed
    presence: Presence
    notifications: Notifications
    tokens: TokenService
    limiter: RateLimiter
    writes: Limit
    recheck_seconds: float
    queue_size: int


class ChatSession:
    def __init__(
        self,
        socket: WebSocket,
        trip_id: UUID,
        claims: Claims,
        username: str,
        services: SessionServices,
    ) -> None:
        self._socket = socket
        self._trip_id = trip_id
        self._claims = claims
        self._username = username
        self._s = services
        self._id = uuid.uuid4().hex  # this connection, to leave its own signals out
        self._outgoing: asyncio.Queue[bytes] = asyncio.Queue(maxsize=services.queue_size)
        self._stack = contextlib.AsyncExitStack()
        self._subscription: Subscription | None = None
        self._order = RoomOrder(services.chat, services.reading.users, trip_id, self._put)
        self._tasks: anyio.abc.TaskGroup | None = None
        self._room = room_channel(trip_id)
        self._recheck_now = asyncio.Event()

    async def run(self) -> None:
        code, reason = 1000, ""
        try:
            async with self._stack, anyio.create_task_group() as tasks:
                self._tasks = tasks
                tasks.start_soon(self._receive)
                tasks.start_soon(self._send)
                tasks.start_soon(self._recheck)
        except* Closing as closing:
            first = closing.exceptions[0]
            assert isinstance(first, Closing)
            code, reason = first.code, first.reason
        except* WebSocketDisconnect:
            code = 0  # the client went away: nothing to close
        finally:
            if self._subscription is not None:
                with anyio.move_on_after(LEAVE_SECONDS, shield=True):
                    # Not gone at once: what was posted just before the socket closed reaches
                    # the notifier a moment later, and was seen.
                    await self._s.presence.mark(
                        self._room, str(self._claims.user_id), PRESENCE_AFTER_CLOSE
                    )
                    await self._signal({"type": "user_left", **self._who()})
        if code:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self._socket.close(code, reason)

    # --- what the client sends ----------------------------------------------------------

    async def _receive(self) -> None:
        while True:
            raw = await self._socket.receive_text()
            _RECEIVED.inc()
            try:
                message = _incoming.validate_json(raw)
            except ValidationError as error:
                self._error("invalid_message_format", _first_error(error))
                continue
            room = getattr(message, "trip_id", None)
            if room is not None and room != self._trip_id:
                self._error("wrong_room", f"This socket is the room of trip {self._trip_id}")
                continue
            try:
                await self._handle(message)
            except Exception as error:
                found = code_of(error)
                if found is None:
                    log.exception("chat socket failed on a %s", type(message).__name__)
                    raise Closing(INTERNAL_ERROR, "internal error") from None
                self._error(found[1], str(error))

    async def _handle(self, message: Any) -> None:
        if isinstance(message, SubscribeIn):
            await self._subscribe(message)
        elif isinstance(message, ChatMessageIn):
            await run_in_threadpool(count, self._s.limiter, self._s.writes)
            command = PostMessage(
                self._trip_id,
                message.content,
                MessageType(message.message_type),
                message.reply_to,
            )
            posted = await run_in_threadpool(self._s.chat.post, command, self._context(message))
            await publish_posted(self._s.feed, self._s.reading.users, posted)
        elif isinstance(message, EditMessageIn):
            await run_in_threadpool(count, self._s.limiter, self._s.writes)
            edit = EditMessage(self._trip_id, message.message_id, message.content)
            edited = await run_in_threadpool(self._s.chat.edit, edit, self._context(message))
            await publish_edited(self._s.feed, edited)
        elif isinstance(message, TypingIn):
            if self._subscription is None:
                self._error("not_subscribed", "Subscribe to the room first")
                return
            body = {"type": "user_typing", **self._who(), "is_typing": message.is_typing}
            await self._signal(body)
        elif isinstance(message, PingIn):
            self._put({"type": "pong"})

    async def _subscribe(self, message: SubscribeIn) -> None:
        if self._subscription is not None:
            self._error("already_subscribed", "This socket is subscribed to its room")
            return
        after = message.after
        if isinstance(after, int) and after < 0:
            self._error("invalid_message_format", "after: a sequence (0 or more) or an id")
            return
        joined = contextlib.AsyncExitStack()
        subscription = await joined.enter_async_context(
            self._s.feed.subscribe(self._room, self._s.queue_size)
        )
        limit = chat_reads.RECENT_MESSAGES if after is None else MAX_GAP
        try:
            found = await chat_reads.room_messages(
                self._s.reading, self._trip_id, self._claims.user_id, after=after, limit=limit
            )
        except TripNotFoundError:  # removed since the socket opened
            await joined.aclose()
            raise Closing(FORBIDDEN, "no longer a member of the trip") from None
        except BaseException:
            await joined.aclose()
            raise
        self._stack.push_async_callback(joined.aclose)
        self._subscription = subscription
        if found.messages:
            self._order.last_seq = found.messages[-1].seq
        elif isinstance(after, int):
            self._order.last_seq = after
        if after is not None and found.has_more:
            # The client pages the rest of the gap itself (GET .../messages/?after=): the
            # socket goes on from the room's head.
            self._order.last_seq = await run_in_threadpool(self._s.chat.head, self._trip_id)
        # The room is open: what was unread of it is seen now, before the client hears so
        # (a client that leaves at once would otherwise leave it unread).
        context = CommandContext(self._claims.user_id, uuid.uuid4())
        await run_in_threadpool(
            self._s.notifications.read_room, self._claims.user_id, self._trip_id, context
        )
        self._put(
            {
                "type": "subscription_success",
                "trip_id": str(self._trip_id),
                "recent_messages": [m.model_dump(mode="json") for m in found.messages],
                "has_more": found.has_more,
            }
        )
        if found.behind:  # the history had not caught up: the rest comes from the store
            await self._order.fill_to_head()
        await self._here()
        assert self._tasks is not None
        self._tasks.start_soon(self._live, subscription)
        await self._signal({"type": "user_joined", **self._who()})

    def _context(self, message: ChatMessageIn | EditMessageIn) -> CommandContext:
        key = None
        if message.idempotency_key is not None:
            fingerprint = message.model_dump_json(exclude={"idempotency_key"})
            key = CommandKey(message.idempotency_key, f"ws:{self._trip_id}:{fingerprint}")
        return CommandContext(self._claims.user_id, uuid.uuid4(), key)

    # --- what the room sends --------------------------------------------------------------

    async def _live(self, subscription: Subscription) -> None:
        while True:
            raw = await subscription.queue.get()
            if subscription.overflowed.is_set():
                raise Closing(TOO_SLOW, "too slow to keep up with the room")
            if raw == RESYNC:
                await self._order.fill_to_head()
                continue
            item = orjson.loads(raw)
            kind = item.get("kind")
            if kind == "message":
                await self._order.message(int(item["seq"]), item["body"])
            elif kind == "poke":  # a system message: someone may have left, check at once
                self._recheck_now.set()
                if int(item["seq"]) > self._order.last_seq:
                    await self._order.fill(int(item["seq"]))
            elif kind == "edit" or (kind == "signal" and item.get("from") != self._id):
                self._put(item["body"])

    # --- the connection -----------------------------------------------------------------

    async def _send(self) -> None:
        while True:
            await self._socket.send_text((await self._outgoing.get()).decode())
            _SENT.inc()

    async def _recheck(self) -> None:
        # Sockets opened together do not recheck together: the first wait is spread.
        wait = random.uniform(0.5, 1.0) * self._s.recheck_seconds
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._recheck_now.wait(), wait)
            self._recheck_now.clear()
            wait = self._s.recheck_seconds
            try:
                await run_in_threadpool(self._s.tokens.check_still_valid, self._claims)
            except AuthenticationError as error:
                raise Closing(UNAUTHORIZED, f"token {error.reason}") from None
            try:
                await run_in_threadpool(
                    self._s.chat.check_member, self._trip_id, self._claims.user_id
                )
            except TripNotFoundError:
                raise Closing(FORBIDDEN, "no longer a member of the trip") from None
            except DomainError as error:  # the store is down: keep the socket, check later
                log.warning("chat socket recheck failed: %s", error)
            if self._subscription is not None:
                await self._here()

    async def _here(self) -> None:
        """Mark the room open for this user (no message notifications meanwhile), for a
        little longer than until the next recheck renews it."""
        seconds = PRESENCE_RECHECKS * self._s.recheck_seconds
        await self._s.presence.mark(self._room, str(self._claims.user_id), seconds)

    def _put(self, body: dict[str, Any]) -> None:
        try:
            self._outgoing.put_nowait(orjson.dumps(body))
        except asyncio.QueueFull:
            raise Closing(TOO_SLOW, "too slow to keep up with the room") from None

    async def _signal(self, body: dict[str, Any]) -> None:
        await publish_signal(self._s.feed, self._trip_id, self._id, body)

    def _who(self) -> dict[str, str]:
        return {
            "trip_id": str(self._trip_id),
            "user_id": str(self._claims.user_id),
            "username": self._username,
        }

    def _error(self, code: str, message: str) -> None:
        self._put({"type": "error", "code": code, "message": message})


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]
