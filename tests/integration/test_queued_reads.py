"""Reads of one key queued for a connection at once share one statement, on a real pool;
a reader that comes once the statement is sent never takes its (older) answer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from psycopg import AsyncConnection
from psycopg.sql import SQL, Identifier
from psycopg_pool import AsyncConnectionPool

from infra.database import open_read_pool
from infra.postgres.queued_reads import QueuedReads
from infra.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = await open_read_pool(Settings(database_url=database_url), size=1)
    try:
        yield pool
    finally:
        await pool.close()


Statement = Callable[[AsyncConnection], Awaitable[Any]]


def counted(query: str, calls: list[int], fail: bool = False) -> Statement:
    async def statement(conn: AsyncConnection) -> Any:
        calls.append(1)
        if fail:
            raise psycopg.errors.QueryCanceled("cancelled by the test")
        cursor = await conn.execute(query)
        return await cursor.fetchone()

    return statement


@contextlib.asynccontextmanager
async def pool_held(pool: AsyncConnectionPool) -> AsyncIterator[None]:
    """The pool's one connection taken until the block ends: reads queue meanwhile."""
    taken, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with pool.connection():
            taken.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await taken.wait()
    try:
        yield
    finally:
        release.set()
        await holder


async def queued(reads: QueuedReads[str, Any], key: str, statement: Statement) -> asyncio.Task[Any]:
    task = asyncio.create_task(reads.read(key, statement))
    await asyncio.sleep(0.05)  # in the pool's queue
    return task


async def test_reads_of_one_key_queued_at_once_share_one_statement(
    pool: AsyncConnectionPool,
) -> None:
    reads = QueuedReads[str, Any](pool)
    calls: list[int] = []
    other_calls: list[int] = []
    async with pool_held(pool):
        same = [await queued(reads, "trip", counted("SELECT 1", calls)) for _ in range(5)]
        other = await queued(reads, "other trip", counted("SELECT 2", other_calls))
    assert [await task for task in same] == [(1,)] * 5
    assert await other == (2,)
    assert (len(calls), len(other_calls)) == (1, 1)
    assert await reads.read("trip", counted("SELECT 1", calls)) == (1,)
    assert len(calls) == 2  # nothing queued then: a read of its own


async def test_a_read_that_comes_once_the_statement_is_sent_reads_for_itself(
    pool: AsyncConnectionPool, database_url: str
) -> None:
    """The first read's statement takes its snapshot before a write commits; a read that
    began after the write must see it, not share the first one's answer."""
    table = Identifier(f"queued_reads_{uuid4().hex[:8]}")
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(SQL("CREATE TABLE {} (n integer)").format(table))
        admin.execute(SQL("INSERT INTO {} VALUES (1)").format(table))
        reads = QueuedReads[str, Any](pool)
        sent = asyncio.Event()

        async def slow(conn: AsyncConnection) -> Any:
            sent.set()
            query = SQL("SELECT n FROM {}, pg_sleep(0.5)").format(table)
            return await (await conn.execute(query)).fetchone()

        first = asyncio.create_task(reads.read("trip", slow))
        await sent.wait()
        await asyncio.sleep(0.1)  # PostgreSQL runs it, with its snapshot taken
        admin.execute(SQL("UPDATE {} SET n = 2").format(table))
        later = await reads.read("trip", counted(f"SELECT n FROM {table.as_string(admin)}", []))
        assert (await first, later) == ((1,), (2,))
        admin.execute(SQL("DROP TABLE {}").format(table))


async def test_the_reads_queued_behind_a_first_read_that_went_away_still_answer(
    pool: AsyncConnectionPool,
) -> None:
    reads = QueuedReads[str, Any](pool)
    calls: list[int] = []
    async with pool_held(pool):
        first = await queued(reads, "trip", counted("SELECT 1", calls))
        joined = [await queued(reads, "trip", counted("SELECT 1", calls)) for _ in range(3)]
        first.cancel()  # its request went away while it was queued
        await asyncio.sleep(0.05)
    with pytest.raises(asyncio.CancelledError):
        await first
    assert [await task for task in joined] == [(1,)] * 3
    assert len(calls) == 1  # one of them read, for the others


async def test_the_reads_queued_behind_a_failed_read_read_for_themselves(
    pool: AsyncConnectionPool,
) -> None:
    reads = QueuedReads[str, Any](pool)
    calls: list[int] = []
    async with pool_held(pool):
        failing = await queued(reads, "trip", counted("SELECT 1", calls, fail=True))
        joined = [await queued(reads, "trip", counted("SELECT 1", calls)) for _ in range(3)]
    with pytest.raises(psycopg.errors.QueryCanceled):
        await failing
    assert [await task for task in joined] == [(1,)] * 3  # not the first one's error
    assert len(calls) > 1  # the failed one, then theirs
