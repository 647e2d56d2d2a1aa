from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import reduce
from typing import Any
from uuid import uuid4

from write_side.context import CommandContext, acting_as
from write_side.event_store import EventStore
from write_side.identity.user import User
from write_side.trips.access import Role
from write_side.trips.commands import (
    AddActivity,
    AddDestination,
    AddMember,
    PlanTrip,
    UpdateActivity,
    When,
)
from write_side.trips.itinerary import ActivityType
from write_side.trips.planner import TripPlanner
from write_side.trips.snapshots import TRIP_SNAPSHOT_INTERVAL


def test_a_long_trip_loads_from_a_snapshot_to_the_state_a_full_replay_gives() -> None:
    planner = TripPlanner(EventStore())
    me = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    friend = uuid4()
    with acting_as(me):
        planner.events.save(
            User(
                user_id=friend,
                email="f@x.org",
                username="f",
                password_hash="-",
                first_name="",
                last_name="",
            )
        )
    trip_id = planner.plan_trip(PlanTrip("Long", "", date(2027, 1, 1), date(2027, 3, 1)), me).id
    planner.add_member(AddMember(trip_id, friend, Role.EDITOR), me)
    destination = planner.add_destination(
        AddDestination(
            trip_id, "Lima", "", {"lat": -12.0, "lng": -77.0}, date(2027, 1, 2), date(2027, 2, 1)
        ),
        me,
    ).id
    activity = planner.add_activity(
        AddActivity(
            destination,
            "Walk",
            "",
            ActivityType.SIGHTSEEING,
            start=When(datetime(2027, 1, 3, 9), "America/Lima"),
            cost=Decimal("5.50"),
            currency="PEN",
        ),
        me,
    ).id
    for n in range(2 * TRIP_SNAPSHOT_INTERVAL + 50):
        planner.update_activity(UpdateActivity(activity, {"title": f"Walk {n}"}), me)

    snapshots = list(planner.events.snapshots.get(trip_id)) if planner.events.snapshots else []
    assert [s.originator_version for s in snapshots] == [100, 200]

    from_snapshot = planner.get_trip(trip_id)
    stored = planner.events.recorder.select_events(trip_id)
    replayed: Any = reduce(
        lambda trip, event: event.mutate(trip),
        (planner.events.mapper.to_domain_event(s) for s in stored),
        None,
    )
    assert from_snapshot.version == replayed.version == len(stored)
    assert from_snapshot == replayed
    loaded = from_snapshot.destinations[destination].activities[activity]
    assert loaded.title == f"Walk {2 * TRIP_SNAPSHOT_INTERVAL + 49}"
    assert loaded.start is not None and loaded.start.time_zone == "America/Lima"
    assert from_snapshot.members[friend] == Role.EDITOR
