"""`ws://HOST/ws/chat/{trip_id}/`: accept, authenticate, check membership, then the session.

The socket is accepted before it is judged, so a client can tell why it was refused: close
code 4001 for a missing, invalid, expired or revoked token (or a spent ticket), 4003 when the
user is not a member of the trip. A refusal before accepting would be an HTTP 403 that
clients cannot tell apart.
"""

from __future__ import annotations

import logging
from uuid import UUID

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool

from api.chat_session import ChatSession, SessionServices
from api.deps import chat_reading
from api.open_sockets import OpenSockets
from api.socket_auth import FORBIDDEN, UNAUTHORIZED, authenticated, close
from api.throttle import Limit
from infra.wiring import Container
from write_side.errors import AuthenticationError, DomainError, TripNotFoundError

log = logging.getLogger(__name__)

router = APIRouter()
TRY_AGAIN_LATER = 1013


@router.websocket("/ws/chat/{trip_id}")
async def chat_socket(socket: WebSocket, trip_id: str) -> None:
    container: Container = socket.app.state.container
    await socket.accept()
    try:
        claims = await authenticated(socket, container)
    except AuthenticationError as error:
        log.info("chat socket refused: %s", error.reason)
        await close(socket, UNAUTHORIZED, "unauthorized")
        return
    try:
        room = UUID(trip_id)
        await run_in_threadpool(container.chat.check_member, room, claims.user_id)
        profile = await container.users.get_user(claims.user_id)
    except (ValueError, TripNotFoundError):
        await close(socket, FORBIDDEN, "not a member of this trip")
        return
    except DomainError as error:  # the event store is unavailable
        log.warning("chat socket refused: %s", error)
        await close(socket, TRY_AGAIN_LATER, "try again later")
        return
    settings = container.settings
    services = SessionServices(
        chat=container.chat,
        reading=chat_reading(container),
        feed=container.live.feed,
        presence=container.live.presence,
        notifications=container.notifications,
        tokens=container.accounts.tokens,
        limiter=container.rate_limiter,
        writes=Limit(
            f"writes:{claims.user_id}", settings.writes_per_user, settings.writes_window_seconds
        ),
        recheck_seconds=settings.ws_recheck_seconds,
        queue_size=settings.ws_send_queue,
    )
    username = profile.username if profile else ""
    open_sockets: OpenSockets = socket.app.state.open_sockets
    async with open_sockets.held(socket, "chat"):
        await ChatSession(socket, room, claims, username, services).run()
