"""Write pacing over real PostgreSQL: a command held back because the views trail this
process's writes goes on when a real projection batch commits one of them (its notice names
the version saved), and at once when the listening connection is cut (what was pending may
have been heard by nobody)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from infra.database import prepare_database
from infra.postgres.changes import PostgresChanges
from infra.postgres.projections.credential_tables import CredentialTables
from infra.postgres.projections.store import PostgresProjectionStore
from infra.settings import Settings
from infra.write_pacing import WritePacing
from projections.engine.ports import Change
from tests.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

PROJECTION = "credentials"  # a projection whose batches are easy to make by hand


@pytest.fixture
async def pacing(database_url: str) -> AsyncIterator[WritePacing]:
    """Pacing at two pending writes, told by a listening PostgresChanges."""
    pacing = WritePacing(limit=2, patience=60, projection=PROJECTION)
    changes = PostgresChanges(database_url, pacing=pacing)
    await changes.start()
    try:
        await until(lambda: changes.listening, "the listener listening")
        yield pacing
    finally:
        await changes.close()


@pytest.fixture
async def project(database_url: str) -> AsyncIterator[Callable[[UUID], Awaitable[None]]]:
    """Saves an aggregate (at version 1) in a batch of the projection, committed."""
    prepare_database(Settings(database_url=database_url))
    async with AsyncConnectionPool(
        database_url, min_size=1, max_size=2, kwargs={"autocommit": True}
    ) as pool:
        store = PostgresProjectionStore.on_pool(pool, CredentialTables())

        async def saved(aggregate: UUID) -> None:
            async with store.batch() as batch:
                await batch.save({aggregate: Change(1, None, None)})

        yield saved


async def held_behind(
    pacing: WritePacing, project: Callable[[UUID], Awaitable[None]]
) -> tuple[asyncio.Task[None], list[UUID]]:
    """Three writes, one of them projected (the projection at work, heard of): a command
    is held behind the two others."""
    written = [uuid4(), uuid4(), uuid4()]
    for aggregate in written:
        pacing.wrote(aggregate, 1)
    await project(written[0])
    await until(lambda: pacing.pending == 2, "the first write heard of")
    admitting = asyncio.create_task(pacing.admit())
    await asyncio.sleep(0.2)
    assert not admitting.done()
    return admitting, written[1:]


async def test_a_held_command_goes_on_when_a_batch_commits_a_write(
    pacing: WritePacing, project: Callable[[UUID], Awaitable[None]]
) -> None:
    admitting, (second, _) = await held_behind(pacing, project)
    await project(second)
    await asyncio.wait_for(admitting, 10)
    assert pacing.pending == 1  # the third write's view is not there yet


async def test_a_held_command_goes_on_when_the_listener_is_cut(
    pacing: WritePacing, project: Callable[[UUID], Awaitable[None]], database_url: str
) -> None:
    admitting, _ = await held_behind(pacing, project)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%%'"
        )
    await asyncio.wait_for(admitting, 10)
    assert pacing.pending == 0
