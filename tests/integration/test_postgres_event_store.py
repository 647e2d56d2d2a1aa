from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from uuid import uuid4

import pytest

from infra.database import build_event_store, prepare_database
from infra.settings import Settings
from streams.outbox import OutboxReader
from streams.position import START
from tests.waiting import eventually
from write_side.context import CommandContext
from write_side.errors import VersionMismatchError
from write_side.trips.commands import AddDestination, PlanTrip, UpdateTripDetails
from write_side.trips.planner import TripPlanner


@pytest.fixture
def planner(database_url: str) -> Iterator[TripPlanner]:
    settings = Settings(database_url=database_url)
    prepare_database(settings)
    planner = TripPlanner(build_event_store(settings))
    try:
        yield planner
    finally:
        planner.events.close()


def run_together(*actions: object) -> list[object]:
    """Start the actions at the same moment in threads; returns results or raised errors."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(index: int, action: object) -> None:
        barrier.wait()
        try:
            results[index] = action()  # type: ignore[operator]
        except Exception as error:  # collected for the test to assert on
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_a_trip_survives_a_new_application_instance(
    planner: TripPlanner, database_url: str
) -> None:
    owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    trip = planner.plan_trip(PlanTrip("Japan", "", date(2027, 4, 1), date(2027, 4, 20)), owner)
    planner.add_destination(
        AddDestination(
            trip.trip_id,
            "Kyoto",
            "",
            {"lat": 35.0, "lng": 135.7},
            date(2027, 4, 2),
            date(2027, 4, 6),
        ),
        owner,
    )
    other = TripPlanner(build_event_store(Settings(database_url=database_url)))
    try:
        loaded = other.get_trip(trip.trip_id)
        assert loaded.version == 2
        assert [d.name for d in loaded.destinations.values()] == ["Kyoto"]
        assert loaded.start_date == date(2027, 4, 1)
    finally:
        other.events.close()


def test_concurrent_commands_without_if_match_all_land(planner: TripPlanner) -> None:
    owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    trip = planner.plan_trip(PlanTrip("Japan", "", date(2027, 4, 1), date(2027, 4, 20)), owner)
    results = run_together(
        *(
            lambda n=n: planner.add_destination(
                AddDestination(
                    trip.trip_id,
                    f"Stop {n}",
                    "",
                    {"lat": 0.0, "lng": 0.0},
                    date(2027, 4, 2),
                    date(2027, 4, 3),
                ),
                owner,
            )
            for n in range(4)
        )
    )
    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(r.version for r in results) == [2, 3, 4, 5]  # type: ignore[attr-defined]
    assert len(planner.get_trip(trip.trip_id).destinations) == 4


def test_thirty_writers_of_one_trip_in_one_process_all_land(planner: TripPlanner) -> None:
    """They take turns: racing, some lost the race at each of their retries and got 409s
    (1 to 9 of 30 through `itinera serve`), though none conflicted with another."""
    owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    trip = planner.plan_trip(PlanTrip("Japan", "", date(2027, 4, 1), date(2027, 4, 20)), owner)
    results = run_together(
        *(
            lambda n=n: planner.update_trip_details(
                UpdateTripDetails(trip.trip_id, title=f"Title {n}"), owner
            )
            for n in range(30)
        )
    )
    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(r.version for r in results) == list(range(2, 32))  # type: ignore[attr-defined]
    assert planner.get_trip(trip.trip_id).version == 31


def test_concurrent_commands_with_the_same_if_match_let_exactly_one_win(
    planner: TripPlanner,
) -> None:
    owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    trip = planner.plan_trip(PlanTrip("Japan", "", date(2027, 4, 1), date(2027, 4, 20)), owner)
    results = run_together(
        *(
            lambda n=n: planner.update_trip_details(
                UpdateTripDetails(trip.trip_id, title=f"Title {n}", expected_version=1), owner
            )
            for n in range(4)
        )
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, VersionMismatchError)]
    assert len(winners) == 1 and len(losers) == 3
    assert all(loser.current == 2 for loser in losers)
    assert planner.get_trip(trip.trip_id).version == 2


def test_the_notification_log_keeps_each_trips_events_in_version_order(
    planner: TripPlanner,
) -> None:
    owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    trips = [
        planner.plan_trip(PlanTrip(f"T{n}", "", date(2027, 1, 1), date(2027, 1, 9)), owner)
        for n in range(3)
    ]
    run_together(
        *(
            lambda t=t, n=n: planner.update_trip_details(
                UpdateTripDetails(t.trip_id, title=f"v{n}"), owner
            )
            for t in trips
            for n in range(3)
        )
    )

    def read() -> None:  # readable once no older transaction on the server is open
        batch = OutboxReader(planner.events).read_after(START, 100)
        per_trip: dict[object, list[int]] = {}
        for message in batch.messages:
            event = message.event
            per_trip.setdefault(event.aggregate_id, []).append(event.aggregate_version)
        assert per_trip == {t.trip_id: [1, 2, 3, 4] for t in trips}

    eventually(read)


def test_a_long_trip_is_snapshotted_in_postgres_and_loads_the_same(planner: TripPlanner) -> None:
    owner = CommandContext(actor_id=uuid4(), correlation_id=uuid4())
    trip = planner.plan_trip(PlanTrip("Long", "", date(2027, 1, 1), date(2027, 1, 9)), owner)
    for n in range(120):
        planner.update_trip_details(UpdateTripDetails(trip.trip_id, title=f"v{n}"), owner)
    assert planner.events.snapshots is not None
    (snapshot,) = planner.events.snapshots.get(trip.trip_id)
    assert snapshot.originator_version == 100
    loaded = planner.get_trip(trip.trip_id)
    assert (loaded.version, loaded.title) == (121, "v119")
