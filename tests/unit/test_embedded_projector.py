from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from projections.embedded import LANE, EmbeddedProjector
from projections.engine.ports import LaneOffset
from read_side import queries
from streams.outbox import OutboxReader
from tests.projected import in_memory_projected
from write_side.context import CommandContext
from write_side.event_store import EventStore
from write_side.trips.commands import AddDestination, PlanTrip
from write_side.trips.planner import TripPlanner

pytestmark = pytest.mark.anyio


class Authority:
    async def readable_by(self, trip_id, user_id) -> bool:
        return True

    async def version(self, trip_id) -> int | None:
        return 99


async def test_the_embedded_projector_brings_views_up_to_the_event_store() -> None:
    planner = TripPlanner(EventStore())
    models = in_memory_projected()
    owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    trip = planner.plan_trip(PlanTrip("Alps", "", date(2027, 2, 1), date(2027, 2, 9)), owner)
    planner.add_destination(
        AddDestination(
            trip.trip_id,
            "Zermatt",
            "",
            {"lat": 46.0, "lng": 7.7},
            date(2027, 2, 2),
            date(2027, 2, 5),
        ),
        owner,
    )
    projector = EmbeddedProjector(OutboxReader(planner.events), models.appliers())

    assert await projector.catch_up() == 3
    reading = queries.Reading(models.trips, Authority())
    found = await queries.trip_detail(reading, trip.trip_id, owner.actor_id, min_version=2)
    assert not found.stale
    assert [d.name for d in found.view.destinations] == ["Zermatt"]
    for store in (models.trip_store, models.user_store):
        assert await store.offsets() == {LANE: LaneOffset(0, 3)}

    # A new projector (a restart) resumes from the recorded positions: nothing is re-read.
    restarted = EmbeddedProjector(OutboxReader(planner.events), models.appliers())
    assert await restarted.catch_up() == 0
    again = await models.trips.get_trip(trip.trip_id)
    assert again is not None and again.view == found.view
