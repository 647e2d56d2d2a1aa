"""Who has a room open, across API instances: one expiring Redis key per (room, user).

Best effort, like presence itself: while Redis is down nobody is marked, and everyone is
taken to be away (they may get a message notification for a room they had open).
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisPresence:
    def __init__(self, url: str, namespace: str, timeout: float) -> None:
        self._client = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._prefix = f"{namespace}:presence:"

    async def mark(self, room: str, user_id: str, seconds: float) -> None:
        try:
            await self._client.set(self._key(room, user_id), b"1", px=max(1, int(seconds * 1000)))
        except UNREACHABLE as error:
            log.warning("presence not marked: %s", error)

    async def present(self, room: str, user_ids: list[str]) -> set[str]:
        if not user_ids:
            return set()
        try:
            found = await self._client.mget([self._key(room, u) for u in user_ids])
        except UNREACHABLE as error:
            log.warning("presence unknown, taking everyone as away: %s", error)
            return set()
        return {u for u, value in zip(user_ids, found, strict=True) if value is not None}

    async def close(self) -> None:
        await self._client.aclose()

    def _key(self, room: str, user_id: str) -> str:
        return f"{self._prefix}{room}:{user_id}"
