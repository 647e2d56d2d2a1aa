"""The sync feed's positions under concurrent writers, on real PostgreSQL: two batches that
touch one trip (the trip-events and chat-events agents) take turns on the trip's head, so
positions are gap-free and in commit order, and a reader never sees a later position
before an earlier one commits (the late-commit skip a global sequence would have)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg
import pytest

from infra.database import prepare_database
from infra.postgres.projections.names import LIVE
from infra.postgres.projections.sync_tables import SyncFeedTables
from infra.settings import Settings
from projections.engine.ports import Change
from projections.sync_feed import SyncSource

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


def trip(trip_id: str, version: int, *destinations: str) -> Any:
    return {
        "id": trip_id,
        "version": version,
        "title": "Lisbon",
        "archived": False,
        "members": [{"user_id": str(uuid.uuid4()), "role": "owner"}],
        "destinations": [
            {"id": d, "trip_id": trip_id, "name": d[:4], "activities": []} for d in destinations
        ],
    }


def message(trip_id: str, message_id: str) -> Any:
    return {"id": message_id, "trip_id": trip_id, "seq": 1, "version": 1, "content": "hi"}


async def waiting_for_a_lock(watcher: psycopg.AsyncConnection[Any], pid: int) -> None:
    for _ in range(500):
        found = await (
            await watcher.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
            )
        ).fetchone()
        if found is not None and found[0] == "Lock":
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the second batch never waited for the first")


async def test_batches_of_one_trip_take_turns_and_positions_follow_commits(
    database_url: str, tmp_path: Any
) -> None:
    prepare_database(Settings(database_url=database_url, keys_dir=tmp_path))
    tables = SyncFeedTables()
    trip_id, message_id = str(uuid.uuid4()), str(uuid.uuid4())
    places = [str(uuid.uuid4()) for _ in range(3)]
    first_state: SyncSource = trip(trip_id, 2, *places)
    url = database_url
    async with (
        await psycopg.AsyncConnection.connect(url) as first,
        await psycopg.AsyncConnection.connect(url) as second,
        await psycopg.AsyncConnection.connect(url, autocommit=True) as reader,
    ):

        async def positions() -> list[tuple[str, int]]:
            rows = await (
                await reader.execute(
                    "SELECT entity_id::text, pos FROM sync_feed WHERE trip_id = %s ORDER BY pos",
                    (trip_id,),
                )
            ).fetchall()
            return [(row[0], int(row[1])) for row in rows]

        async with first.transaction():
            await tables.save(first, LIVE, {uuid.UUID(trip_id): Change(2, first_state, None)})

            async def chat_batch() -> None:
                async with second.transaction():
                    change = Change(1, message(trip_id, message_id), None)
                    await tables.save(second, LIVE, {uuid.UUID(message_id): change})

            later = asyncio.create_task(chat_batch())
            await waiting_for_a_lock(reader, second.info.backend_pid)
            assert await positions() == []  # nothing is visible before its batch commits
        await later
        found = await positions()
    assert [pos for _, pos in found] == [1, 2, 3, 4, 5]  # gap-free
    assert found[-1] == (message_id, 5)  # the batch that committed later comes later
    assert {entity for entity, _ in found[:4]} == {trip_id, *places}
