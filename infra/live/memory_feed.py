"""Live delivery and presence within one process (embedded mode: one API process serves
every socket)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from read_side.live import LocalFanout, Subscription


class InProcessFeed:
    def __init__(self) -> None:
        self._local = LocalFanout()

    async def publish(self, channel: str, message: bytes) -> None:
        self._local.deliver(channel, message)

    def deliver_here(self, channel: str, message: bytes) -> None:
        self._local.deliver(channel, message)

    @asynccontextmanager
    async def subscribe(self, channel: str, size: int) -> AsyncIterator[Subscription]:
        async with self._local.joined(channel, size) as (subscription, _):
            yield subscription

    async def close(self) -> None:
        return None


class InProcessPresence:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[tuple[str, str], float] = {}

    async def mark(self, room: str, user_id: str, seconds: float) -> None:
        self._until[(room, user_id)] = self._clock() + seconds

    async def present(self, room: str, user_ids: list[str]) -> set[str]:
        now = self._clock()
        return {u for u in user_ids if self._until.get((room, u), 0.0) > now}

    async def close(self) -> None:
        return None
