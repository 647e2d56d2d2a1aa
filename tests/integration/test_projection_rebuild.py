"""Rebuilding projections from the event store, blue/green, on a real PostgreSQL: a rebuild
equals live processing row by row, loses nothing while commands keep arriving, serves the old
tables until its swap, and cannot run twice at once."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from infra.postgres.projections.names import LIVE
from infra.postgres.projections.schema import RebuildRunningError, owned_tables
from infra.rebuild_jobs import parallel_scan
from infra.settings import Settings
from projections.engine.rebuild import rebuild
from projections.trip_views import TRIP_VIEWS
from tests.benchmarks.history import write_history
from tests.integration.engine_support import engine_stack, plan_trips, someone
from write_side.trips.commands import UpdateTripDetails

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


class GatedLog:
    """The real event log, except that its aggregate-order scan waits at a gate: a rebuild
    held mid-scan, so a test can look at what serves meanwhile."""

    def __init__(self, log) -> None:
        self._log = log
        self.reached = threading.Event()
        self.gate = threading.Event()

    def by_aggregate(self, *args, **kwargs):
        self.reached.set()
        self.gate.wait(30)
        return self._log.by_aggregate(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._log, name)


async def test_a_rebuild_equals_live_processing_row_by_row(database_url: str) -> None:
    async with engine_stack(database_url) as stack:
        list(write_history(stack.planner.events, trips=40, events_per_trip=25))
        plan_trips(stack.planner, 5)
        await stack.projector().catch_up()
        live = await stack.rows("trip_views")
        assert len(live["trip_views"]) == 45 and live["user_trips"] and live["trip_items"]

        report = await stack.engine.rebuild(stack.unit("trip_views"))

        assert report.events == 40 * 25 + 5 * 3 and report.parked == 0
        assert await stack.rows("trip_views") == live


async def test_a_rebuild_scanned_by_several_processes_equals_live_too(database_url: str) -> None:
    async with engine_stack(database_url) as stack:
        list(write_history(stack.planner.events, trips=30, events_per_trip=20))
        await stack.projector().catch_up()
        live = await stack.rows("trip_views")
        unit = stack.unit("trip_views")
        scan = parallel_scan(stack.settings, "trip_views", jobs=3)
        report = await rebuild(unit.projection, unit.schema, stack.engine.events, parallel=scan)
        assert report.events == 30 * 20
        assert await stack.rows("trip_views") == live


async def test_a_rebuild_while_commands_keep_arriving_loses_nothing(database_url: str) -> None:
    async with engine_stack(database_url) as stack:
        trips = plan_trips(stack.planner, 20)
        owner_of = {trip_id: stack.planner.get_trip(trip_id).creator_id for trip_id in trips}
        projector = stack.projector()
        await projector.catch_up()
        live = asyncio.create_task(projector.run())
        stop = threading.Event()
        written: list[int] = []

        def keep_writing() -> None:
            while not stop.is_set():
                trip_id = trips[len(written) % len(trips)]
                context = replace(someone(), actor_id=owner_of[trip_id])
                stack.planner.update_trip_details(
                    UpdateTripDetails(trip_id, title=f"during {len(written)}"), context
                )
                written.append(1)

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            await asyncio.sleep(0.3)
            report = await stack.engine.rebuild(stack.unit("trip_views"))
            await asyncio.sleep(0.3)
        finally:
            stop.set()
            writer.join()
        await projector.catch_up()
        live.cancel()

        assert report.events > 0 and len(written) > 20
        rows = await stack.rows("trip_views")
        versions = {row[0]: row[1] for row in rows["trip_views"]}
        assert versions == {t: stack.planner.current_version(t) for t in trips}
        await stack.engine.rebuild(stack.unit("trip_views"))  # a fresh one agrees
        assert await stack.rows("trip_views") == rows


async def test_a_new_version_is_rebuilt_while_the_old_tables_serve(database_url: str) -> None:
    async with engine_stack(database_url) as old_code:
        (trip_id,) = plan_trips(old_code.planner, 1)
        await old_code.projector().catch_up()
    # The code now declares the next version of the projection, whose titles are upper case.
    wrapper = "tests.faults:next_version_shouting"
    async with engine_stack(database_url, projection_wrapper=wrapper) as stack:
        unit = stack.unit("trip_views")
        assert unit.projection.version == TRIP_VIEWS.version + 1
        assert (await unit.schema.built()).version == TRIP_VIEWS.version
        assert not await stack.engine.live()["trip_views"].is_current()  # drivers wait

        gated = GatedLog(stack.engine.events)
        running = asyncio.create_task(rebuild(unit.projection, unit.schema, gated))
        await asyncio.to_thread(gated.reached.wait, 30)
        assert await _title(stack, trip_id) == "T0.1"  # the old version serves meanwhile
        with pytest.raises(RebuildRunningError):  # and a second rebuild is refused
            await stack.engine.rebuild(unit)
        gated.gate.set()
        report = await running

        assert report.version == TRIP_VIEWS.version + 1
        assert await stack.engine.live()["trip_views"].is_current()
        assert await _title(stack, trip_id) == "T0.1".upper()


async def _title(stack, trip_id: UUID) -> str:
    async with stack.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT view->>'title' FROM trip_views WHERE trip_id = %s", (trip_id,)
        )
        row = await cursor.fetchone()
    return str(row[0])


async def test_serve_rebuilds_a_projection_whose_version_changed_before_it_serves(
    database_url: str, tmp_path
) -> None:
    from infra.identity.keys import rotate_key
    from infra.wiring import api_container

    async with engine_stack(database_url) as old_code:
        (trip_id,) = plan_trips(old_code.planner, 1)
        await old_code.projector().catch_up()
    rotate_key(tmp_path / "keys")
    settings = Settings(
        database_url=database_url,
        project_in_process=True,
        keys_dir=tmp_path / "keys",
        projection_wrapper="tests.faults:next_version_shouting",
    )
    async with api_container(settings) as container:  # what `itinera serve` starts with
        stored = await container.trips.get_trip(trip_id)
        assert stored is not None and stored.view.title == "T0.1".upper()
        health = {h.name: h for h in await container.projection_health()}
        assert health["trip_views"].built_version == TRIP_VIEWS.version + 1


async def test_a_swap_that_deadlocks_with_a_reader_is_tried_again(database_url: str) -> None:
    """A reader holds the second live table and then asks for the first while the swap,
    holding the first, waits for the second: PostgreSQL fails the swap (it waited first), and
    the rebuild tries again once the reader is done instead of failing."""
    async with engine_stack(database_url) as stack:
        plan_trips(stack.planner, 3)
        await stack.projector().catch_up()
        unit = stack.unit("trip_views")
        first, second = owned_tables(unit.schema.tables)[:2]
        async with await psycopg.AsyncConnection.connect(database_url) as reader:
            async with reader.transaction():
                await reader.execute(sql.SQL("SELECT 1 FROM {}").format(LIVE.table(second)))
                rebuilding = asyncio.create_task(stack.engine.rebuild(unit))
                await _until_a_lock_waits(database_url, "AccessExclusiveLock")
                await reader.execute(sql.SQL("SELECT 1 FROM {}").format(LIVE.table(first)))
            report = await asyncio.wait_for(rebuilding, 30)
        assert report.events == 3 * 3


async def _until_a_lock_waits(database_url: str, mode: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for _ in range(500):
            cursor = await conn.execute(
                "SELECT 1 FROM pg_locks WHERE NOT granted AND mode = %s", (mode,)
            )
            if await cursor.fetchone():
                return
            await asyncio.sleep(0.02)
    raise AssertionError(f"no {mode} ever waited")
