"""`ws://HOST/ws/notifications/`: each new or counted notification of the user, with the unread
count, pushed to every socket the user has open, on any API instance. Same authentication
and close codes as the chat socket (4001; 4008 for a client too slow to read)."""

from __future__ import annotations

import logging

import anyio
import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.chat_schemas import PingIn
from api.open_sockets import OpenSockets
from api.socket_auth import TOO_SLOW, UNAUTHORIZED, Closing, authenticated, close
from infra.wiring import Container, metrics
from read_side.live import RESYNC, Subscription, user_channel
from write_side.errors import AuthenticationError
from write_side.identity.tokens import Claims

_SENT = metrics.WS_MESSAGES.labels("notifications", "sent")
_RECEIVED = metrics.WS_MESSAGES.labels("notifications", "received")
log = logging.getLogger(__name__)

router = APIRouter()


@router.websocket("/ws/notifications")
async def notification_socket(socket: WebSocket) -> None:
    container: Container = socket.app.state.container
    await socket.accept()
    try:
        claims = await authenticated(socket, container)
    except AuthenticationError as error:
        log.info("notification socket refused: %s", error.reason)
        await close(socket, UNAUTHORIZED, "unauthorized")
        return
    open_sockets: OpenSockets = socket.app.state.open_sockets
    async with open_sockets.held(socket, "notifications"):
        await _session(socket, container, claims)


async def _session(socket: WebSocket, container: Container, claims: Claims) -> None:
    settings = container.settings
    channel = user_channel(claims.user_id)
    code, reason = 0, ""
    try:
        async with (
            container.live.feed.subscribe(channel, settings.ws_send_queue) as subscription,
            anyio.create_task_group() as tasks,
        ):
            inbox = await run_in_threadpool(container.notifications.inbox, claims.user_id)
            unread = inbox.unread_count if inbox else 0
            await _send(socket, {"type": "subscription_success", "unread_count": unread})
            tasks.start_soon(_forward, socket, subscription, container, claims)
            tasks.start_soon(_recheck, container, claims)
            tasks.start_soon(_answer, socket)
    except* Closing as closing:
        first = closing.exceptions[0]
        assert isinstance(first, Closing)
        code, reason = first.code, first.reason
    except* WebSocketDisconnect:
        code = 0  # the client went away: nothing to close
    if code:
        await close(socket, code, reason)


async def _forward(
    socket: WebSocket, subscription: Subscription, container: Container, claims: Claims
) -> None:
    while True:
        raw = await subscription.queue.get()
        if subscription.overflowed.is_set():
            raise Closing(TOO_SLOW, "too slow to keep up")
        if raw == RESYNC:  # pushes may have been lost: say how many are unread now
            inbox = await run_in_threadpool(container.notifications.inbox, claims.user_id)
            await _send(
                socket, {"type": "unread_count", "unread_count": inbox.unread_count if inbox else 0}
            )
            continue
        await socket.send_text(raw.decode())
        _SENT.inc()


async def _recheck(container: Container, claims: Claims) -> None:
    while True:
        await anyio.sleep(container.settings.ws_recheck_seconds)
        try:
            await run_in_threadpool(container.accounts.tokens.check_still_valid, claims)
        except AuthenticationError as error:
            raise Closing(UNAUTHORIZED, f"token {error.reason}") from None


async def _answer(socket: WebSocket) -> None:
    """The client may ping; anything else is answered with an error."""
    while True:
        raw = await socket.receive_text()
        _RECEIVED.inc()
        try:
            PingIn.model_validate_json(raw)
        except ValidationError:
            await _send(
                socket,
                {"type": "error", "code": "invalid_message_format", "message": "Only ping"},
            )
            continue
        await _send(socket, {"type": "pong"})


async def _send(socket: WebSocket, body: dict[str, object]) -> None:
    await socket.send_text(orjson.dumps(body).decode())
    _SENT.inc()
