"""A command the client names with a key runs once: the write side keeps the key with the
command's events and answers a retry with the first result."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from uuid import UUID, uuid4

import pytest

from write_side.context import CommandContext, CommandKey
from write_side.errors import CommandKeyReusedError, DatesOutsideTripError
from write_side.event_store import EventStore
from write_side.trips.command_record import CommandRecord
from write_side.trips.commands import AddDestination, PlanTrip
from write_side.trips.planner import TripPlanner

JAPAN = PlanTrip("Japan", "", date(2027, 4, 1), date(2027, 4, 20))


def keyed(user: UUID, key: str, fingerprint: str = "f1") -> CommandContext:
    return CommandContext(actor_id=user, correlation_id=uuid4(), key=CommandKey(key, fingerprint))


def kyoto(trip_id: UUID) -> AddDestination:
    return AddDestination(
        trip_id, "Kyoto", "", {"lat": 35.0, "lng": 135.7}, date(2027, 4, 2), date(2027, 4, 5)
    )


@pytest.fixture
def planner() -> TripPlanner:
    return TripPlanner(EventStore())


def test_a_keyed_plan_runs_once_and_replays_its_result(planner: TripPlanner) -> None:
    user = uuid4()
    first = planner.plan_trip(JAPAN, keyed(user, "plan-1"))
    again = planner.plan_trip(JAPAN, keyed(user, "plan-1"))
    assert not first.replayed and again.replayed
    assert (again.id, again.version) == (first.id, first.version)


def test_a_keyed_change_runs_once_even_after_the_trip_moved_on(planner: TripPlanner) -> None:
    user = uuid4()
    trip = planner.plan_trip(JAPAN, CommandContext(user, uuid4()))
    first = planner.add_destination(kyoto(trip.id), keyed(user, "add-kyoto"))
    planner.add_destination(kyoto(trip.id), CommandContext(user, uuid4()))  # a later change
    again = planner.add_destination(kyoto(trip.id), keyed(user, "add-kyoto"))
    assert again == replace(first, replayed=True)
    assert len(planner.get_trip(trip.id).destinations) == 2


def test_a_key_names_one_request_of_one_user(planner: TripPlanner) -> None:
    user, other = uuid4(), uuid4()
    planner.plan_trip(JAPAN, keyed(user, "k"))
    with pytest.raises(CommandKeyReusedError):
        planner.plan_trip(JAPAN, keyed(user, "k", fingerprint="another body"))
    assert not planner.plan_trip(JAPAN, keyed(other, "k")).replayed


def test_a_failed_command_records_nothing(planner: TripPlanner) -> None:
    user = uuid4()
    trip = planner.plan_trip(JAPAN, CommandContext(user, uuid4()))
    outside = replace(kyoto(trip.id), arrival_date=date(2027, 3, 1))
    with pytest.raises(DatesOutsideTripError):
        planner.add_destination(outside, keyed(user, "add"))
    assert planner.events.find(CommandRecord.create_id(user, "add"), CommandRecord) is None
    assert not planner.add_destination(kyoto(trip.id), keyed(user, "add", "fixed")).replayed


def test_the_record_holds_the_result_the_client_was_given(planner: TripPlanner) -> None:
    user = uuid4()
    trip = planner.plan_trip(JAPAN, keyed(user, "plan"))
    record = planner.events.find(CommandRecord.create_id(user, "plan"), CommandRecord)
    assert record is not None and (record.trip_id, record.version) == (trip.id, 1)
