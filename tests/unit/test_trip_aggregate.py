from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from write_side.context import CommandContext
from write_side.errors import (
    DatesOutsideTripError,
    DestinationNotFoundError,
    EndBeforeStartError,
    TimesOutsideDestinationError,
    TripNotFoundError,
    VersionMismatchError,
)
from write_side.event_store import EventStore
from write_side.trips.commands import (
    AddActivity,
    AddDestination,
    PlanTrip,
    UpdateTripDetails,
    When,
)
from write_side.trips.planner import TripPlanner
from write_side.trips.trip import ActivityType, Role

KYOTO = {"lat": 35.01, "lng": 135.77, "address": "Kyoto"}


@pytest.fixture
def planner() -> TripPlanner:
    return TripPlanner(EventStore())  # in memory


@pytest.fixture
def owner() -> CommandContext:
    return CommandContext(actor_id=uuid4(), correlation_id=uuid4())


def plan(planner: TripPlanner, owner: CommandContext) -> object:
    return planner.plan_trip(
        PlanTrip("Japan", "Spring", date(2027, 4, 1), date(2027, 4, 20)), owner
    )


def add_kyoto(
    planner: TripPlanner, owner: CommandContext, trip_id: object, **dates: date
) -> object:
    return planner.add_destination(
        AddDestination(
            trip_id=trip_id,  # type: ignore[arg-type]
            name="Kyoto",
            description="",
            location=KYOTO,
            arrival_date=dates.get("arrival", date(2027, 4, 2)),
            departure_date=dates.get("departure", date(2027, 4, 6)),
        ),
        owner,
    )


def test_planning_a_trip_makes_the_creator_its_owner(planner, owner) -> None:
    result = plan(planner, owner)
    trip = planner.get_trip(result.trip_id)
    assert result.version == 1
    assert trip.title == "Japan"
    assert trip.members == {owner.actor_id: Role.OWNER}


def test_a_trip_cannot_end_before_it_starts(planner, owner) -> None:
    with pytest.raises(EndBeforeStartError):
        planner.plan_trip(PlanTrip("x", "", date(2027, 4, 2), date(2027, 4, 1)), owner)


def test_events_record_the_actor_and_correlation_id(planner, owner) -> None:
    result = plan(planner, owner)
    (notification,) = planner.events.recorder.select_notifications(start=1, limit=10)
    event = planner.events.mapper.to_domain_event(notification)
    assert event.originator_id == result.trip_id
    assert event.actor_id == owner.actor_id
    assert event.correlation_id == owner.correlation_id


def test_destination_dates_must_lie_within_the_trip(planner, owner) -> None:
    trip = plan(planner, owner)
    with pytest.raises(DatesOutsideTripError):
        add_kyoto(planner, owner, trip.trip_id, arrival=date(2027, 3, 30))
    with pytest.raises(DatesOutsideTripError):
        add_kyoto(planner, owner, trip.trip_id, departure=date(2027, 4, 21))
    with pytest.raises(EndBeforeStartError):
        add_kyoto(
            planner, owner, trip.trip_id, arrival=date(2027, 4, 5), departure=date(2027, 4, 4)
        )
    assert planner.get_trip(trip.trip_id).destinations == {}


def test_changing_trip_dates_cannot_strand_a_destination(planner, owner) -> None:
    trip = plan(planner, owner)
    add_kyoto(planner, owner, trip.trip_id)
    with pytest.raises(DatesOutsideTripError):
        planner.update_trip_details(
            UpdateTripDetails(trip_id=trip.trip_id, end_date=date(2027, 4, 4)), owner
        )
    assert planner.get_trip(trip.trip_id).end_date == date(2027, 4, 20)


def test_activity_times_must_lie_within_the_destination(planner, owner) -> None:
    trip = plan(planner, owner)
    destination = add_kyoto(planner, owner, trip.trip_id)

    def add(start: datetime | None, end: datetime | None) -> object:
        return planner.add_activity(
            AddActivity(
                destination_id=destination.id,
                title="Temple",
                description="",
                activity_type=ActivityType.SIGHTSEEING,
                start=When(start, "Asia/Tokyo") if start else None,
                end=When(end, "Asia/Tokyo") if end else None,
                cost=Decimal("12.50"),
                currency="EUR",
            ),
            owner,
        )

    with pytest.raises(TimesOutsideDestinationError):
        add(datetime(2027, 4, 7, 9), None)
    with pytest.raises(EndBeforeStartError):
        add(datetime(2027, 4, 3, 12), datetime(2027, 4, 3, 11))
    result = add(datetime(2027, 4, 3, 9), datetime(2027, 4, 3, 11))
    assert result.version == 3
    (activity,) = planner.get_trip(trip.trip_id).destinations[destination.id].activities.values()
    assert activity.id == result.id
    assert activity.cost == Decimal("12.50")


def test_an_idea_without_times_is_an_activity_too(planner, owner) -> None:
    trip = plan(planner, owner)
    destination = add_kyoto(planner, owner, trip.trip_id)
    result = planner.add_activity(
        AddActivity(destination.id, "Maybe sake", "", ActivityType.OTHER), owner
    )
    assert result.trip_id == trip.trip_id


def test_an_unknown_destination_is_an_error(planner, owner) -> None:
    with pytest.raises(DestinationNotFoundError):
        planner.add_activity(AddActivity(uuid4(), "x", "", ActivityType.OTHER), owner)


def test_an_unknown_trip_is_an_error(planner, owner) -> None:
    with pytest.raises(TripNotFoundError):
        add_kyoto(planner, owner, uuid4())


def test_outsiders_cannot_change_a_trip_nor_learn_it_exists(planner, owner) -> None:
    trip = plan(planner, owner)
    outsider = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    with pytest.raises(TripNotFoundError):
        planner.update_trip_details(UpdateTripDetails(trip_id=trip.trip_id, title="Mine"), outsider)
    destination = add_kyoto(planner, owner, trip.trip_id)
    with pytest.raises(DestinationNotFoundError):
        planner.add_activity(AddActivity(destination.id, "x", "", ActivityType.OTHER), outsider)


def test_a_stale_expected_version_is_refused_with_the_current_one(planner, owner) -> None:
    trip = plan(planner, owner)
    planner.update_trip_details(UpdateTripDetails(trip_id=trip.trip_id, title="v2"), owner)
    with pytest.raises(VersionMismatchError) as caught:
        planner.update_trip_details(
            UpdateTripDetails(trip_id=trip.trip_id, title="v3", expected_version=1), owner
        )
    assert caught.value.current == 2
    result = planner.update_trip_details(
        UpdateTripDetails(trip_id=trip.trip_id, title="v3", expected_version=2), owner
    )
    assert result.version == 3
