"""Reads of one key queued for a pooled connection at the same time share one statement.

Under load, readers wait for one of the pool's few connections far longer than the statement
takes (at 150 readers on 10 connections, 300 ms in the queue for a statement of under 1 ms),
and many of them want the same row: a popular trip, or every reader of a trip woken by the
notice of its commit at once. The first reader of a key takes its place in the pool's queue;
those that come while it is still queued join it, and all take its answer.

Joining never hands a reader an answer older than its request: a reader joins only a read
whose statement is not yet sent (the key stops taking joiners the moment its connection is
granted, before the statement goes out), so the statement's snapshot, taken when PostgreSQL
starts it, comes after every joiner began. A first reader that goes away (its request
cancelled) or fails leaves its joiners to read for themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class _Gone:
    """The first reader got no answer for its joiners."""


_GONE = _Gone()


class QueuedReads(Generic[K, T]):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        self._queued: dict[K, asyncio.Future[T | _Gone]] = {}

    async def read(self, key: K, statement: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`statement`'s answer on a pooled connection, shared with the reads of `key` that
        come while this one waits for its connection (`statement` must answer the same for
        them all)."""
        while (queued := self._queued.get(key)) is not None:
            answer = await asyncio.shield(queued)  # a joiner that leaves leaves it alone
            if not isinstance(answer, _Gone):
                return answer
        mine: asyncio.Future[T | _Gone] = asyncio.get_running_loop().create_future()
        self._queued[key] = mine
        try:
            async with self._pool.connection() as conn:
                self._close(key, mine)  # before the statement is sent: see the module's doc
                answer = await statement(conn)
        except BaseException:
            self._close(key, mine)
            mine.set_result(_GONE)
            raise
        mine.set_result(answer)
        return answer

    def _close(self, key: K, queued: asyncio.Future[T | _Gone]) -> None:
        if self._queued.get(key) is queued:
            del self._queued[key]
