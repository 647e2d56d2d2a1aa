"""Events stored before DestinationAdded and ActivityAdded changed shape still load, publish
and project, alongside events of the new shape."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from projections.embedded import EmbeddedProjector
from read_side import queries
from streams.contracts import ActivityAdded, parse_trip_event
from streams.outbox import OutboxReader
from streams.position import START
from tests.projected import in_memory_projected
from write_side.context import CommandContext, acting_as
from write_side.event_store import EventStore
from write_side.trips.commands import AddActivity, PlanTrip, When
from write_side.trips.destination_index import DestinationIndex
from write_side.trips.itinerary import NO_CURRENCY, ActivityType, in_order
from write_side.trips.planner import TripPlanner

pytestmark = pytest.mark.anyio
TRIP_TOPIC = "write_side.trips.trip:Trip"


def store_v1(events: EventStore, trip_id: UUID, version: int, event: str, **state: object) -> None:
    """Write an event exactly as the v1 code stored it: no class_version, the old fields."""
    state = {"timestamp": datetime.now(UTC), **state}
    events.recorder.insert_events(
        [
            StoredEvent(
                originator_id=trip_id,
                originator_version=version,
                topic=f"{TRIP_TOPIC}.{event}",
                state=events.mapper.transcoder.encode(state),
            )
        ]
    )


async def test_old_and_new_events_load_publish_and_project_together() -> None:
    planner = TripPlanner(EventStore())
    owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    metadata = {"actor_id": owner.actor_id, "correlation_id": owner.correlation_id}
    trip_id = planner.plan_trip(PlanTrip("Old", "", date(2027, 4, 1), date(2027, 4, 20)), owner).id
    kyoto, temple = uuid4(), uuid4()
    store_v1(
        planner.events,
        trip_id,
        2,
        "DestinationAdded",
        **metadata,
        destination_id=kyoto,
        name="Kyoto",
        description="",
        location={"lat": 35.0, "lng": 135.7},
        arrival_date=date(2027, 4, 2),
        departure_date=date(2027, 4, 6),
    )
    store_v1(
        planner.events,
        trip_id,
        3,
        "ActivityAdded",
        **metadata,
        destination_id=kyoto,
        activity_id=temple,
        title="Temple",
        description="",
        activity_type="sightseeing",
        start_time=datetime(2027, 4, 3, 9, tzinfo=timezone(timedelta(hours=9))),
        end_time=None,
        cost=Decimal("12.50"),
    )
    with acting_as(owner):  # v1 saved the index beside DestinationAdded, as v2 does
        planner.events.save(DestinationIndex(destination_id=kyoto, trip_id=trip_id))
    new = planner.add_activity(  # a v2 event after the old ones
        AddActivity(
            kyoto,
            "Tea",
            "",
            ActivityType.RESTAURANT,
            start=When(datetime(2027, 4, 4, 15), "Asia/Tokyo"),
            cost=Decimal("1500"),
            currency="JPY",
        ),
        owner,
    )

    trip = planner.get_trip(trip_id)  # the write side loads both shapes
    old, tea = in_order(trip.destinations[kyoto].activities.values())
    assert (old.title, tea.title) == ("Temple", "Tea")
    assert old.start is not None and old.start.utc == datetime(2027, 4, 3, 0, tzinfo=UTC)
    assert old.currency == NO_CURRENCY and old.cost == Decimal("12.50")
    assert trip.destinations[kyoto].rank  # ranked on replay

    published = OutboxReader(planner.events).read_after(START, 100).messages
    added = [m.event for m in published if isinstance(m.event, ActivityAdded)]
    assert [a.schema_version for a in added] == [2, 2]  # old events leave in the new shape

    models = in_memory_projected()
    await EmbeddedProjector(OutboxReader(planner.events), models.appliers()).catch_up()
    view = (await queries.trip_detail(models.reading(planner), trip_id, owner.actor_id)).view
    assert [a.title for a in view.destinations[0].activities] == ["Temple", "Tea"]
    assert view.totals == {"JPY": Decimal("1500"), NO_CURRENCY: Decimal("12.50")}
    assert new.version == 4


def test_v1_messages_still_on_the_topic_are_upgraded_when_read() -> None:
    trip_id, destination_id = uuid4(), uuid4()
    v1 = {
        "event_id": str(uuid4()),
        "event_type": "ActivityAdded",
        "schema_version": 1,
        "aggregate_id": str(trip_id),
        "aggregate_version": 3,
        "occurred_at": "2026-11-01T10:00:00Z",
        "actor_id": str(uuid4()),
        "correlation_id": str(uuid4()),
        "payload": {
            "destination_id": str(destination_id),
            "activity_id": str(uuid4()),
            "title": "Temple",
            "description": "",
            "activity_type": "sightseeing",
            "start_time": "2027-04-03T09:00:00+09:00",
            "end_time": None,
            "cost": "12.50",
        },
    }
    event = parse_trip_event(json.dumps(v1))
    assert isinstance(event, ActivityAdded) and event.schema_version == 2
    assert event.payload.start is not None
    assert event.payload.start.utc == datetime(2027, 4, 3, 0, tzinfo=UTC)
    assert event.payload.currency == NO_CURRENCY and event.payload.rank is None
