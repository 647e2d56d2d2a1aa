from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from write_side.context import CommandContext
from write_side.errors import (
    ActivityNotFoundError,
    EndBeforeStartError,
    FieldConflictError,
    InvalidCurrencyError,
    InvalidTimeZoneError,
    TimesOutsideDestinationError,
)
from write_side.event_store import EventStore
from write_side.trips.commands import (
    AddActivity,
    AddDestination,
    MoveActivity,
    MoveDestination,
    PlanTrip,
    RemoveDestination,
    UpdateActivity,
    UpdateDestination,
    When,
)
from write_side.trips.itinerary import ActivityType, in_order
from write_side.trips.planner import TripPlanner


@pytest.fixture
def planner() -> TripPlanner:
    return TripPlanner(EventStore())


@pytest.fixture
def me() -> CommandContext:
    return CommandContext(actor_id=uuid4(), correlation_id=uuid4())


def trip(planner: TripPlanner, me: CommandContext) -> UUID:
    return planner.plan_trip(PlanTrip("Pacific", "", date(2027, 5, 1), date(2027, 5, 20)), me).id


def stop(planner: TripPlanner, me: CommandContext, trip_id: UUID, name: str) -> UUID:
    return planner.add_destination(
        AddDestination(
            trip_id, name, "", {"lat": 0.0, "lng": 0.0}, date(2027, 5, 2), date(2027, 5, 6)
        ),
        me,
    ).id


def names(planner: TripPlanner, trip_id: UUID) -> list[str]:
    return [d.name for d in in_order(planner.get_trip(trip_id).destinations.values())]


def test_moving_a_destination_gives_it_a_rank_between_and_touches_no_sibling(
    planner: TripPlanner, me: CommandContext
) -> None:
    trip_id = trip(planner, me)
    a, b, c = (stop(planner, me, trip_id, n) for n in "ABC")
    ranks_before = {d.id: d.rank for d in planner.get_trip(trip_id).destinations.values()}
    planner.move_destination(MoveDestination(c, after_id=a), me)
    assert names(planner, trip_id) == ["A", "C", "B"]
    planner.move_destination(MoveDestination(b, after_id=None), me)
    assert names(planner, trip_id) == ["B", "A", "C"]
    ranks_after = {d.id: d.rank for d in planner.get_trip(trip_id).destinations.values()}
    assert ranks_after[a] == ranks_before[a]  # never rewritten


def test_a_flight_leaves_in_one_zone_and_lands_in_another(
    planner: TripPlanner, me: CommandContext
) -> None:
    trip_id = trip(planner, me)
    hop = stop(planner, me, trip_id, "Pacific crossing")
    flight = planner.add_activity(
        AddActivity(
            hop,
            "Flight",
            "",
            ActivityType.TRANSPORT,
            start=When(datetime(2027, 5, 3, 17, 0), "Asia/Tokyo"),
            end=When(datetime(2027, 5, 3, 10, 0), "America/Los_Angeles"),
            cost=Decimal("890.00"),
            currency="USD",
        ),
        me,
    )
    activity = planner.get_trip(trip_id).destinations[hop].activities[flight.id]
    assert activity.start is not None and activity.end is not None
    assert activity.start.utc == datetime(2027, 5, 3, 8, 0, tzinfo=UTC)
    assert activity.end.utc == datetime(2027, 5, 3, 17, 0, tzinfo=UTC)  # lands "before" it left
    with pytest.raises(EndBeforeStartError):  # compared as instants, not wall clocks
        planner.add_activity(
            AddActivity(
                hop,
                "Back in time",
                "",
                ActivityType.TRANSPORT,
                start=When(datetime(2027, 5, 3, 10, 0), "America/Los_Angeles"),
                end=When(datetime(2027, 5, 3, 17, 0), "Asia/Tokyo"),
            ),
            me,
        )


def test_unknown_zones_and_currencies_are_refused(planner: TripPlanner, me: CommandContext) -> None:
    trip_id = trip(planner, me)
    hop = stop(planner, me, trip_id, "A")
    with pytest.raises(InvalidTimeZoneError):
        planner.add_activity(
            AddActivity(
                hop,
                "x",
                "",
                ActivityType.OTHER,
                start=When(datetime(2027, 5, 3, 9), "Mars/Olympus"),
            ),
            me,
        )
    with pytest.raises(InvalidCurrencyError):
        planner.add_activity(
            AddActivity(hop, "x", "", ActivityType.OTHER, cost=Decimal("1"), currency="euro"), me
        )


def test_removing_a_destination_removes_its_activities(
    planner: TripPlanner, me: CommandContext
) -> None:
    trip_id = trip(planner, me)
    hop = stop(planner, me, trip_id, "A")
    activity = planner.add_activity(AddActivity(hop, "x", "", ActivityType.OTHER), me).id
    planner.remove_destination(RemoveDestination(hop), me)
    assert planner.get_trip(trip_id).destinations == {}
    with pytest.raises(ActivityNotFoundError):
        planner.update_activity(UpdateActivity(activity, {"title": "y"}), me)


def test_a_destination_cannot_shrink_away_from_its_activities(
    planner: TripPlanner, me: CommandContext
) -> None:
    trip_id = trip(planner, me)
    hop = stop(planner, me, trip_id, "A")
    planner.add_activity(
        AddActivity(hop, "x", "", ActivityType.OTHER, start=When(datetime(2027, 5, 5, 9), "UTC")),
        me,
    )
    with pytest.raises(TimesOutsideDestinationError):
        planner.update_destination(
            UpdateDestination(
                hop, "A", "", {"lat": 0, "lng": 0}, date(2027, 5, 2), date(2027, 5, 4)
            ),
            me,
        )


def test_editors_changing_different_fields_both_succeed_the_same_field_conflicts(
    planner: TripPlanner, me: CommandContext
) -> None:
    trip_id = trip(planner, me)
    hop = stop(planner, me, trip_id, "A")
    added = planner.add_activity(AddActivity(hop, "Dinner", "", ActivityType.RESTAURANT), me)
    seen = added.version
    planner.update_activity(UpdateActivity(added.id, {"title": "Late dinner"}, seen), me)
    planner.update_activity(
        UpdateActivity(added.id, {"cost": Decimal("40"), "currency": "EUR"}, seen), me
    )
    with pytest.raises(FieldConflictError) as conflict:
        planner.update_activity(UpdateActivity(added.id, {"title": "Lunch"}, seen), me)
    assert conflict.value.fields == ["title"]
    activity = planner.get_trip(trip_id).destinations[hop].activities[added.id]
    assert (activity.title, activity.cost, activity.currency) == ("Late dinner", 40, "EUR")


def test_activities_reorder_within_their_destination(
    planner: TripPlanner, me: CommandContext
) -> None:
    trip_id = trip(planner, me)
    hop = stop(planner, me, trip_id, "A")
    ids = [planner.add_activity(AddActivity(hop, t, "", ActivityType.OTHER), me).id for t in "xyz"]
    planner.move_activity(MoveActivity(ids[0], after_id=ids[2]), me)
    ordered = in_order(planner.get_trip(trip_id).destinations[hop].activities.values())
    assert [a.title for a in ordered] == ["y", "z", "x"]
