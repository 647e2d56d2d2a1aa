"""A chat socket's session against fakes: what it does with a client too slow to read."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest

from api.chat_session import ChatSession, SessionServices
from api.socket_auth import TOO_SLOW
from api.throttle import Limit
from infra.identity.memory_stores import InMemoryRateLimiter
from infra.live.memory_feed import InProcessFeed, InProcessPresence
from read_side.chat import ChatReading, MessagePage
from read_side.live import room_channel
from write_side.event_store import EventStore
from write_side.identity.tokens import Claims
from write_side.notifications.service import Notifications

pytestmark = pytest.mark.anyio


class StuckClient:
    """Subscribes, then never reads: every send blocks, as over a full TCP window."""

    def __init__(self, trip_id: UUID) -> None:
        self.trip_id = trip_id
        self.closed: tuple[int, str] | None = None
        self._said = False

    async def receive_text(self) -> str:
        if not self._said:
            self._said = True
            return orjson.dumps({"type": "subscribe", "trip_id": str(self.trip_id)}).decode()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send_text(self, text: str) -> None:
        await asyncio.Event().wait()

    async def close(self, code: int, reason: str = "") -> None:
        self.closed = (code, reason)


class EmptyRoom:
    async def newest_seq(self, trip_id: UUID) -> int:
        return 0

    async def before(self, trip_id: UUID, seq: int | None, limit: int) -> MessagePage:
        return MessagePage([], False)

    async def after(self, trip_id: UUID, seq: int, limit: int) -> MessagePage:
        return MessagePage([], False)

    async def seq_of(self, trip_id: UUID, message_id: UUID) -> int | None:
        return None


class Member:
    async def check_member(self, trip_id: UUID, user_id: UUID) -> tuple[str, int]:
        return "Trip", 1

    async def head(self, trip_id: UUID) -> int:
        return 0


class NoUsers:
    async def profiles(self, user_ids: Any) -> dict[UUID, Any]:
        return {}


async def test_a_client_that_stops_reading_is_dropped_not_buffered() -> None:
    trip_id, feed = uuid4(), InProcessFeed()
    socket = StuckClient(trip_id)
    services = SessionServices(
        chat=None,  # type: ignore[arg-type]  # nothing here reaches the write side
        reading=ChatReading(EmptyRoom(), Member(), NoUsers()),  # type: ignore[arg-type]
        feed=feed,
        presence=InProcessPresence(),
        notifications=Notifications(EventStore()),
        tokens=None,  # type: ignore[arg-type]
        limiter=InMemoryRateLimiter(),
        writes=Limit("w", 100, 60),
        recheck_seconds=3600,
        queue_size=8,
    )
    claims = Claims(uuid4(), "jti", 0.0, 1e12)
    session = asyncio.create_task(
        ChatSession(socket, trip_id, claims, "ada", services).run()  # type: ignore[arg-type]
    )
    for _ in range(100):
        await asyncio.sleep(0.01)  # until it subscribed
        if socket._said:
            break
    for seq in range(1, 1000):
        body = {"type": "chat_message", "message": {"seq": seq}}
        await feed.publish(
            room_channel(trip_id), orjson.dumps({"kind": "message", "seq": seq, "body": body})
        )
        await asyncio.sleep(0)
        if session.done():
            break
    await asyncio.wait_for(session, 5)
    assert socket.closed is not None and socket.closed[0] == TOO_SLOW
