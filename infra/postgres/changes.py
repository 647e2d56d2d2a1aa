"""Read-your-writes wake-ups: LISTEN for the NOTIFY every live projection batch sends when
it commits, and wake the readers waiting for that projection.

While the listening connection is down, waiters poll instead (briefly sleeping), and the
connection is opened again in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

import psycopg

from infra.postgres.projections.store import CHANNEL

log = logging.getLogger(__name__)

POLL_SECONDS = 0.02
RECONNECT_SECONDS = 1.0


class PostgresChanges:
    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._commits: defaultdict[str, int] = defaultdict(int)
        self._changed = asyncio.Condition()
        self._listening = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="projection-changes")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def ticket(self, projection: str) -> int:
        return self._commits[projection]

    async def wait(self, projection: str, ticket: int, timeout: float) -> None:
        if not self._listening:
            await asyncio.sleep(min(POLL_SECONDS, timeout))
            return
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(
                        lambda: self._commits[projection] != ticket or not self._listening
                    ),
                    timeout,
                )

    async def _listen(self) -> None:
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    await self._set_listening(True)
                    async for notice in conn.notifies():
                        self._commits[notice.payload] += 1
                        async with self._changed:
                            self._changed.notify_all()
            except (psycopg.Error, OSError) as error:
                log.warning("projection change notices lost (%s); reconnecting", error)
            await self._set_listening(False)
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _set_listening(self, listening: bool) -> None:
        self._listening = listening
        async with self._changed:
            self._changed.notify_all()
