"""Read-your-writes without polling: a reader waiting for a projection to reach a version is
woken by the NOTIFY the projection's batch sends when it commits (PostgreSQL delivers it on
commit only), over a real LISTEN connection; a reader waiting for one trip's view, by the
notice of a change of that trip only. While that connection is down, waiters poll, and
the listener comes back by itself."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from infra.postgres.changes import MARKED_AGGREGATES, PostgresChanges
from infra.postgres.projections.store import CHANNEL
from read_side import queries
from read_side.queries import Reading
from read_side.store import StoredTrip, TripReadStore
from tests.builders import details_updated, trip_created
from tests.projected import in_memory_projected
from tests.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

TRIP_VIEWS = queries.TRIP_VIEWS


async def _until_listening(database_url: str) -> None:
    async def listens() -> bool:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            row = await (
                await conn.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND query LIKE 'LISTEN%%'"
                )
            ).fetchone()
        return row is not None and row[0] > 0

    for _ in range(200):
        if await listens():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the change listener never started listening")


async def _notify(database_url: str, projection: str, *, commit: bool = True) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, projection))
        if commit:
            await conn.commit()
        else:
            await conn.rollback()


async def test_a_waiter_wakes_on_its_projections_commit_and_only_on_it(
    changes: PostgresChanges, database_url: str
) -> None:
    ticket = changes.ticket(TRIP_VIEWS)
    waiting = asyncio.create_task(changes.wait(TRIP_VIEWS, ticket, timeout=30))
    await _notify(database_url, "user_directory")  # another projection's commit
    await _notify(database_url, TRIP_VIEWS, commit=False)  # rolled back: never delivered
    await asyncio.sleep(0.3)
    assert not waiting.done(), "woken by a notice that was not its projection's commit"
    assert changes.ticket(TRIP_VIEWS) == ticket
    await _notify(database_url, TRIP_VIEWS)
    await asyncio.wait_for(waiting, timeout=10)
    assert changes.ticket(TRIP_VIEWS) == ticket + 1


class CountingStore:
    """The read store, counting how often a reader looks at the trip's version (`reads`)
    and loads the whole view (`loads`)."""

    def __init__(self, store: TripReadStore) -> None:
        self._store = store
        self.reads = 0
        self.loads = 0

    async def view_version(self, trip_id: UUID) -> tuple[int, bool] | None:
        self.reads += 1
        return await self._store.view_version(trip_id)

    async def get_trip(self, trip_id: UUID) -> StoredTrip | None:
        self.loads += 1
        return await self._store.get_trip(trip_id)

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


class EventStoreAt:
    def __init__(self, version: int) -> None:
        self._version = version

    async def readable_by(self, trip_id: UUID, user_id: UUID) -> bool:
        return True

    async def version(self, trip_id: UUID) -> int | None:
        return self._version


async def test_a_read_your_writes_wait_reads_the_view_once_per_commit_not_per_tick(
    changes: PostgresChanges, database_url: str
) -> None:
    models = in_memory_projected()
    trip_id, owner = uuid4(), uuid4()
    await models.apply(trip_created(trip_id, owner))
    store = CountingStore(models.trips)
    reading = Reading(store, EventStoreAt(2), changes=changes, timeout=30)  # type: ignore[arg-type]

    read = asyncio.create_task(queries.trip_detail(reading, trip_id, owner, min_version=2))
    await until(lambda: store.reads >= 1)
    await asyncio.sleep(1.0)  # a poller at 10 ms would have looked ~100 times by now
    assert (store.reads, store.loads, read.done()) == (1, 0, False)

    await _notify(database_url, f"{TRIP_VIEWS}/{uuid4()}")  # another trip's change
    await asyncio.sleep(0.3)
    assert (store.reads, read.done()) == (1, False)

    await models.apply(details_updated(trip_id, 2, owner, "Renamed"))
    await _notify(database_url, f"{TRIP_VIEWS}/{trip_id}")  # what the batch sends at commit
    found = await asyncio.wait_for(read, timeout=10)
    assert (found.view.version, found.view.title, found.stale) == (2, "Renamed", False)
    assert (store.reads, store.loads) == (2, 1)  # the whole view loaded once, when reached


async def test_waiters_poll_while_the_listener_is_cut_and_it_comes_back(
    changes: PostgresChanges, database_url: str
) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%%'"
        )
    # Cut: a wait returns after a short poll instead of hanging on a dead connection.
    ticket = changes.ticket(TRIP_VIEWS)
    await asyncio.wait_for(changes.wait(TRIP_VIEWS, ticket, timeout=30), timeout=5)
    # Back: the listener reconnects by itself, and a commit wakes waiters again.
    await _until_listening(database_url)
    await until(lambda: changes.listening)
    ticket = changes.ticket(TRIP_VIEWS)
    waiting = asyncio.create_task(changes.wait(TRIP_VIEWS, ticket, timeout=30))
    await _notify(database_url, TRIP_VIEWS)
    await asyncio.wait_for(waiting, timeout=10)
    assert changes.ticket(TRIP_VIEWS) == ticket + 1


async def test_a_waiter_for_one_aggregate_wakes_on_its_change_and_on_a_bare_notice(
    changes: PostgresChanges, database_url: str
) -> None:
    """`<projection>/<id>` wakes the waiters of that aggregate and of the whole projection;
    a bare `<projection>` (as older versions sent at every commit) wakes them all."""
    mine, other = uuid4(), uuid4()
    for_mine = asyncio.create_task(
        changes.wait(TRIP_VIEWS, changes.ticket(TRIP_VIEWS, mine), 30, mine)
    )
    for_any = asyncio.create_task(changes.wait(TRIP_VIEWS, changes.ticket(TRIP_VIEWS), 30))
    await asyncio.sleep(0.1)
    await _notify(database_url, f"{TRIP_VIEWS}/{other}")
    await asyncio.wait_for(for_any, timeout=10)
    await asyncio.sleep(0.3)
    assert not for_mine.done(), "woken by another trip's change"
    await _notify(database_url, f"{TRIP_VIEWS}/{mine}")
    await asyncio.wait_for(for_mine, timeout=10)

    ticket = changes.ticket(TRIP_VIEWS, mine)
    again = asyncio.create_task(changes.wait(TRIP_VIEWS, ticket, 30, mine))
    await asyncio.sleep(0.1)
    await _notify(database_url, TRIP_VIEWS)
    await asyncio.wait_for(again, timeout=10)
    assert changes.ticket(TRIP_VIEWS, mine) != ticket


async def test_an_aggregate_ticket_moves_with_that_aggregate_alone(
    changes: PostgresChanges, database_url: str
) -> None:
    """A reader looks at its trip's view, then waits: another trip's commit in between does
    not send it back to look again (it would, with a ticket of the whole projection); a
    commit of its own trip does, even one forgotten among many since."""
    mine, other = uuid4(), uuid4()
    ticket, others = changes.ticket(TRIP_VIEWS, mine), changes.ticket(TRIP_VIEWS, other)
    await _notify(database_url, f"{TRIP_VIEWS}/{other}/3")
    await until(lambda: changes.ticket(TRIP_VIEWS, other) != others)  # heard
    assert changes.ticket(TRIP_VIEWS, mine) == ticket
    waiting = asyncio.create_task(changes.wait(TRIP_VIEWS, ticket, 30, mine))
    await asyncio.sleep(0.3)
    assert not waiting.done(), "sent back by another trip's commit"
    await _notify(database_url, f"{TRIP_VIEWS}/{mine}/4")
    await asyncio.wait_for(waiting, timeout=10)

    # Taken before its trip had a notice; the notice came, then was forgotten among many
    # (as the listener would call it, faster) before the waiter compared: its ticket moved.
    unmarked = uuid4()
    ticket = changes.ticket(TRIP_VIEWS, unmarked)
    changes._committed(f"{TRIP_VIEWS}/{unmarked}/1")
    for _ in range(MARKED_AGGREGATES):
        changes._committed(f"{TRIP_VIEWS}/{uuid4()}/1")
    assert changes.ticket(TRIP_VIEWS, unmarked) != ticket


async def test_the_version_a_notice_gave_is_kept_until_it_may_be_wrong(
    changes: PostgresChanges, database_url: str
) -> None:
    """What a waiting reader takes instead of looking at the view: the version of the
    latest notice of the trip; none once a notice says none (parked, removed), once the
    trip is forgotten among many, or once notices may have been missed."""
    trip = uuid4()
    assert changes.version_heard(TRIP_VIEWS, trip) is None
    ticket = changes.ticket(TRIP_VIEWS, trip)
    await _notify(database_url, f"{TRIP_VIEWS}/{trip}/3")
    await until(lambda: changes.ticket(TRIP_VIEWS, trip) != ticket)
    assert changes.version_heard(TRIP_VIEWS, trip) == 3
    assert changes.version_heard("sync_feed", trip) is None  # another projection's

    changes._committed(f"{TRIP_VIEWS}/{trip}")  # parked: no version
    assert changes.version_heard(TRIP_VIEWS, trip) is None
    changes._committed(f"{TRIP_VIEWS}/{trip}/4")
    changes._committed(TRIP_VIEWS)  # a bare notice may have changed any trip
    assert changes.version_heard(TRIP_VIEWS, trip) is None
    changes._committed(f"{TRIP_VIEWS}/{trip}/5")
    for _ in range(MARKED_AGGREGATES):
        changes._committed(f"{TRIP_VIEWS}/{uuid4()}/1")
    assert changes.version_heard(TRIP_VIEWS, trip) is None
    assert len(changes._versions) == MARKED_AGGREGATES

    changes._committed(f"{TRIP_VIEWS}/{trip}/6")
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%%'"
        )
    await until(lambda: not changes.listening)
    assert changes.version_heard(TRIP_VIEWS, trip) is None
    await until(lambda: changes.listening)
    assert changes.version_heard(TRIP_VIEWS, trip) is None  # what was missed is unknown


async def test_a_waiter_that_gives_up_leaves_nothing_behind(changes: PostgresChanges) -> None:
    ticket = changes.ticket(TRIP_VIEWS)
    await asyncio.gather(*(changes.wait(TRIP_VIEWS, ticket, 0.05, uuid4()) for _ in range(50)))
    assert changes._next == {}


async def test_a_batch_notifies_each_aggregate_it_changed_and_nothing_else(
    changes: PostgresChanges, database_url: str
) -> None:
    """Through the projection engine's real store: a batch that saves two trips sends their
    two notices at commit; one that only moves its lane sends none."""
    from psycopg_pool import AsyncConnectionPool

    from infra.database import prepare_database
    from infra.postgres.projections.credential_tables import CredentialTables
    from infra.postgres.projections.store import PostgresProjectionStore
    from infra.settings import Settings
    from projections.engine.ports import Change, LaneMark

    prepare_database(Settings(database_url=database_url))  # the live tables, empty
    heard: list[str] = []
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as listener:
        await listener.execute(f"LISTEN {CHANNEL}")
        async with AsyncConnectionPool(
            database_url, min_size=1, max_size=2, kwargs={"autocommit": True}
        ) as pool:
            store = PostgresProjectionStore.on_pool(pool, CredentialTables())
            first, second = sorted([uuid4(), uuid4()])
            async with store.batch() as batch:
                await batch.mark([LaneMark("log", 1, None, transaction=1)])
            gone: Change[Any] = Change(1, None, None)
            async with store.batch() as batch:
                await batch.save({second: gone, first: gone})
            async for notice in listener.notifies(timeout=2):
                heard.append(notice.payload)
    assert heard == [f"credentials/{first}/1", f"credentials/{second}/1"]  # with the version
