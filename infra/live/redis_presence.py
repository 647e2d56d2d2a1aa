"""Who has a room open, across API instances: one expiring Redis key per (room, user)."""

from __future__ import annotations

import redis.asyncio as aioredis


class RedisPresence:
    def __init__(self, url: str, namespace: str, timeout: float) -> None:
        self._client = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._prefix = f"{namespace}:presence:"

    async def mark(self, room: str, user_id: str, seconds: float) -> None:
        await self._client.set(self._key(room, user_id), b"1", px=max(1, int(seconds * 1000)))

    async def present(self, room: str, user_ids: list[str]) -> set[str]:
        if not user_ids:
            return set()
        found = await self._client.mget([self._key(room, u) for u in user_ids])
        return {u for u, value in zip(user_ids, found, strict=True) if value is not None}

    async def close(self) -> None:
        await self._client.aclose()

    def _key(self, room: str, user_id: str) -> str:
        return f"{self._prefix}{room}:{user_id}"
