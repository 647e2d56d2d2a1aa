"""Write pacing over real PostgreSQL: a command held back because the views trail this
process's writes goes on when a real projection batch commits them (its notice names the
version saved), and at once when the listening connection is cut (what was pending may have
been heard by nobody)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

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


async def test_a_held_command_goes_on_when_a_batch_commits_the_writes(
    pacing: WritePacing, database_url: str
) -> None:
    prepare_database(Settings(database_url=database_url))
    first, second, third = uuid4(), uuid4(), uuid4()
    async with AsyncConnectionPool(
        database_url, min_size=1, max_size=2, kwargs={"autocommit": True}
    ) as pool:
        store = PostgresProjectionStore.on_pool(pool, CredentialTables())
        gone: Change[Any] = Change(1, None, None)
        for written in (first, second, third):
            pacing.wrote(written, 1)
        async with store.batch() as batch:  # the projection at work: its notice is heard
            await batch.save({third: gone})
        await until(lambda: pacing.pending == 2, "the third write heard of")
        admitting = asyncio.create_task(pacing.admit())
        async with store.batch() as batch:
            await batch.save({first: gone})
            await asyncio.sleep(0.2)  # uncommitted: nothing is heard yet
            assert not admitting.done()
        await asyncio.wait_for(admitting, 10)
    assert pacing.pending == 1  # the second write's view is not there yet


async def test_a_held_command_goes_on_when_the_listener_is_cut(
    pacing: WritePacing, database_url: str
) -> None:
    prepare_database(Settings(database_url=database_url))
    heard = uuid4()
    for written in (heard, uuid4(), uuid4()):
        pacing.wrote(written, 1)
    async with AsyncConnectionPool(
        database_url, min_size=1, max_size=2, kwargs={"autocommit": True}
    ) as pool:
        store = PostgresProjectionStore.on_pool(pool, CredentialTables())
        async with store.batch() as batch:
            await batch.save({heard: Change(1, None, None)})
    await until(lambda: pacing.pending == 2, "the first write heard of")
    admitting = asyncio.create_task(pacing.admit())
    await asyncio.sleep(0.2)
    assert not admitting.done()
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%%'"
        )
    await asyncio.wait_for(admitting, 10)
    assert pacing.pending == 0
