"""Live delivery within one process (embedded mode: one API process serves every socket)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from read_side.live import LocalFanout, Subscription


class InProcessFeed:
    def __init__(self) -> None:
        self._local = LocalFanout()

    async def publish(self, channel: str, message: bytes) -> None:
        self._local.deliver(channel, message)

    @asynccontextmanager
    async def subscribe(self, channel: str, size: int) -> AsyncIterator[Subscription]:
        async with self._local.joined(channel, size) as (subscription, _):
            yield subscription

    async def close(self) -> None:
        return None
