from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from projections.embedded import POSITION_NAME, EmbeddedProjector
from read_side import queries
from streams.outbox import OutboxReader
from tests.fakes import in_memory_read_models
from write_side.context import CommandContext
from write_side.event_store import EventStore
from write_side.trips.commands import AddDestination, PlanTrip
from write_side.trips.planner import TripPlanner

pytestmark = pytest.mark.anyio


async def test_the_embedded_projector_brings_views_up_to_the_event_store() -> None:
    planner = TripPlanner(EventStore())
    models = in_memory_read_models()
    store = models.trips
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
    projector = EmbeddedProjector(OutboxReader(planner.events), models)

    assert await projector.catch_up() == 3
    found = await queries.trip_detail(store, trip.trip_id, owner.actor_id, min_version=2)
    assert not found.stale
    assert [d.name for d in found.view.destinations] == ["Zermatt"]
    assert await store.load_position(POSITION_NAME) == 3

    # Re-reading from the start (a lost position, then a restart) changes nothing: versions
    # are checked.
    await store.save_position(POSITION_NAME, 0)
    restarted = EmbeddedProjector(OutboxReader(planner.events), models)
    assert await restarted.catch_up() == 3
    assert (await store.get_trip(trip.trip_id)) == found.view
