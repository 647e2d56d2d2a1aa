"""Live delivery across API instances through Redis pub/sub (`redis.asyncio`).

One pub/sub connection per process carries every channel this process has subscribers for;
a reader task hands each message to the local subscriptions. When the connection is lost,
the reader connects again, subscribes again, and tells every subscriber to resync (messages
published meanwhile were not received; subscribers read them from the history).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from read_side.live import RESYNC, LocalFanout, Subscription

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 0.5
READ_SECONDS = 1.0


class RedisFeed:
    def __init__(self, url: str, namespace: str, timeout: float) -> None:
        self._client = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._listener = aioredis.Redis.from_url(url, socket_connect_timeout=timeout)
        self._prefix = f"{namespace}:live:"
        self._local = LocalFanout()
        self._pubsub: Any = None
        self._changed = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        """Connect (waiting for Redis up to its timeout) and start reading."""
        await self._connect()
        self._reader = asyncio.create_task(self._read(), name="redis-live-feed")

    async def publish(self, channel: str, message: bytes) -> None:
        """At most once, as the port says: what is published is already stored, and a
        subscriber that misses it finds it in the history (by sequence, or on resync). A
        Redis that cannot take it now must not fail the write that stored it."""
        try:
            await self._client.publish(self._prefix + channel, message)
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            log.warning("live feed could not publish on %s: %s", channel, error)

    def deliver_here(self, channel: str, message: bytes) -> None:
        self._local.deliver(channel, message)

    @asynccontextmanager
    async def subscribe(self, channel: str, size: int) -> AsyncIterator[Subscription]:
        try:
            async with self._local.joined(channel, size) as (subscription, first):
                if first:
                    await self._subscribe(channel)
                yield subscription
        finally:
            if not self._local.has(channel):
                await self._unsubscribe(channel)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                await self._pubsub.aclose()
        await self._client.aclose()
        await self._listener.aclose()

    async def _connect(self) -> None:
        async with self._changed:
            pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
            # Always one channel, so the connection exists before any room is joined.
            await pubsub.subscribe(self._prefix + "feed", *map(self._named, self._local.channels()))
            self._pubsub = pubsub
            self._connected.set()

    async def _subscribe(self, channel: str) -> None:
        async with self._changed:
            if self._pubsub is not None and self._connected.is_set():
                with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                    await self._pubsub.subscribe(self._named(channel))

    async def _unsubscribe(self, channel: str) -> None:
        async with self._changed:
            if self._local.has(channel) or self._pubsub is None:
                return
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                await self._pubsub.unsubscribe(self._named(channel))

    def _named(self, channel: str) -> str:
        return self._prefix + channel

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=READ_SECONDS)
            except (RedisConnectionError, RedisTimeoutError, OSError) as error:
                log.warning("live feed lost Redis (%s); reconnecting", error)
                self._connected.clear()
                await self._reconnect()
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode()[len(self._prefix) :]
            self._local.deliver(channel, message["data"])

    async def _reconnect(self) -> None:
        with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
            await self._pubsub.aclose()
        while True:
            await asyncio.sleep(RECONNECT_SECONDS)
            try:
                await self._connect()
            except (RedisConnectionError, RedisTimeoutError, OSError):
                continue
            self._local.deliver_everywhere(RESYNC)
            log.info("live feed reconnected to Redis")
            return
