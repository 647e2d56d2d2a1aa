"""Live delivery to sockets: a publish/subscribe port, by channel (a chat room, a user).

Only what is already stored is published (or ephemeral signals such as typing). Delivery is
at most once; a subscriber recovers what it missed from the stored history, by sequence.
Adapters: in-process (embedded mode) and Redis pub/sub (several API instances).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

# Put in every subscription when the feed may have lost messages (its connection to Redis
# was lost): subscribers read what they missed from the history.
RESYNC = b""


class Subscription:
    """One subscriber's bounded queue. A subscriber too slow to keep up is marked overflowed
    (and then dropped by its owner), never allowed to grow memory."""

    def __init__(self, channel: str, size: int) -> None:
        self.channel = channel
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=size)
        self.overflowed = asyncio.Event()

    def offer(self, message: bytes) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed.set()


class LiveFeed(Protocol):
    async def publish(self, channel: str, message: bytes) -> None: ...

    def deliver_here(self, channel: str, message: bytes) -> None:
        """To this process's subscribers only (a signal every instance receives itself,
        such as a sync poke from PostgreSQL)."""
        ...

    def subscribe(self, channel: str, size: int) -> AbstractAsyncContextManager[Subscription]:
        """Messages published on `channel` from now until the block ends."""
        ...

    async def close(self) -> None: ...


class LocalFanout:
    """This process's subscriptions, by channel: what every adapter hands messages to."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[Subscription]] = defaultdict(set)

    def channels(self) -> list[str]:
        return list(self._subscribers)

    def deliver(self, channel: str, message: bytes) -> None:
        for subscription in tuple(self._subscribers.get(channel, ())):
            subscription.offer(message)

    def deliver_everywhere(self, message: bytes) -> None:
        for channel in self.channels():
            self.deliver(channel, message)

    @asynccontextmanager
    async def joined(self, channel: str, size: int) -> AsyncIterator[tuple[Subscription, bool]]:
        """A new subscription, and whether it is the channel's first in this process."""
        subscription = Subscription(channel, size)
        first = channel not in self._subscribers
        self._subscribers[channel].add(subscription)
        try:
            yield subscription, first
        finally:
            self._subscribers[channel].discard(subscription)
            if not self._subscribers[channel]:
                del self._subscribers[channel]

    def has(self, channel: str) -> bool:
        return channel in self._subscribers


def room_channel(trip_id: object) -> str:
    """A trip's chat room (the seed's channel group name)."""
    return f"chat_trip_{trip_id}"


def poke(seq: int) -> bytes:
    """A room's message `seq` was stored by something other than a socket or a request (a
    system message): subscribers fetch it from the store, in order, like any gap."""
    return b'{"kind":"poke","seq":%d}' % seq


def user_channel(user_id: object) -> str:
    """A user's own channel: their notifications, on every socket they have open."""
    return f"user_{user_id}"


class Presence(Protocol):
    """Who has a room open on a socket (of any API instance), for a while: a socket renews
    its mark as it checks its token, and shortens it to a few seconds when it closes."""

    async def mark(self, room: str, user_id: str, seconds: float) -> None: ...

    async def present(self, room: str, user_ids: list[str]) -> set[str]: ...

    async def close(self) -> None: ...
