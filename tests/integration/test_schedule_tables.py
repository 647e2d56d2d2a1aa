"""The activity schedule's table on a real PostgreSQL: a batch writes the activities it
changed and no other row (a trip's other events, a new title, leave its rows as they were),
and what a rebuild writes equals what the live batches wrote."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from infra.postgres.projections.schedule_tables import ScheduleTables
from infra.postgres.projections.schema import ProjectionSchema
from projections.activity_schedule import ACTIVITY_SCHEDULE
from projections.embedded import EmbeddedProjector
from projections.engine.applier import Applier, RetryPolicy
from projections.engine.rebuild import rebuild
from streams.outbox import OutboxReader
from tests.integration.engine_support import engine_stack, someone
from write_side.trips.commands import (
    AddActivity,
    AddDestination,
    PlanTrip,
    RemoveActivity,
    UpdateActivity,
    UpdateTripDetails,
    When,
)
from write_side.trips.itinerary import ActivityType

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


async def _rows(pool: AsyncConnectionPool) -> dict[Any, tuple[Any, ...]]:
    """activity id -> (row's transaction id, title, start), the row's xmin telling whether
    a later batch wrote it again."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT activity_id, xmin::text, title, starts_at FROM activity_schedule"
        )
        return {row[0]: row[1:] for row in await cursor.fetchall()}


async def test_a_batch_writes_only_the_activities_it_changed(database_url: str) -> None:
    async with engine_stack(database_url) as stack:
        schema = ProjectionSchema(stack.pool, ScheduleTables())
        outbox = OutboxReader(stack.planner.events)
        applier = Applier(ACTIVITY_SCHEDULE, schema.store(), outbox, RetryPolicy(1, 0.01))
        projector = EmbeddedProjector(outbox, [applier])
        owner = someone()
        planner = stack.planner
        trip = planner.plan_trip(PlanTrip("Lisbon", "", date(2027, 5, 1), date(2027, 5, 9)), owner)
        place = planner.add_destination(
            AddDestination(
                trip.trip_id,
                "Lisbon",
                "",
                {"lat": 38.72, "lng": -9.14},
                date(2027, 5, 2),
                date(2027, 5, 4),
            ),
            owner,
        )
        ids = [
            planner.add_activity(
                AddActivity(
                    place.id,
                    f"Visit {n}",
                    "",
                    ActivityType.SIGHTSEEING,
                    start=When(datetime(2027, 5, 2, 9 + n), "Europe/Lisbon"),
                ),
                owner,
            ).id
            for n in range(3)
        ]
        await projector.catch_up()
        first = await _rows(stack.pool)
        assert sorted(title for _, title, _ in first.values()) == ["Visit 0", "Visit 1", "Visit 2"]

        planner.update_trip_details(UpdateTripDetails(trip.trip_id, title="Porto"), owner)
        await projector.catch_up()
        assert await _rows(stack.pool) == first  # not one row written again

        moved = When(datetime(2027, 5, 3, 10), "Europe/Lisbon")
        planner.update_activity(UpdateActivity(ids[0], {"title": "Tiles", "start": moved}), owner)
        planner.remove_activity(RemoveActivity(ids[1]), owner)
        await projector.catch_up()
        now = await _rows(stack.pool)
        assert set(now) == {ids[0], ids[2]}
        assert now[ids[2]] == first[ids[2]]
        xmin, title, starts = now[ids[0]]
        assert xmin != first[ids[0]][0] and title == "Tiles"
        assert starts == datetime.fromisoformat("2027-05-03T09:00:00+00:00")

        await rebuild(ACTIVITY_SCHEDULE, schema, stack.engine.events)
        rebuilt = await _rows(stack.pool)
        assert {k: v[1:] for k, v in rebuilt.items()} == {k: v[1:] for k, v in now.items()}
