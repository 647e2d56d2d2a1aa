"""The event store's kept copies (write_side.event_store): each load hands out an aggregate of
the caller's own, and a load never sees a change that was not saved."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

from write_side.context import CommandContext, acting_as
from write_side.event_store import EventStore
from write_side.trips.trip import Role, Trip


def saved_trip(events: EventStore) -> Trip:
    with acting_as(CommandContext(actor_id=uuid4(), correlation_id=uuid4())):
        trip = Trip("Japan", "Spring", date(2030, 5, 1), date(2030, 5, 30), uuid4())
    events.save(trip)
    return trip


def test_each_load_hands_out_a_trip_of_its_own() -> None:
    events = EventStore()  # in memory
    trip = saved_trip(events)
    first, second = events.find(trip.id, Trip), events.find(trip.id, Trip)
    assert first is not None and second is not None
    assert first is not second and first is not trip
    with acting_as(CommandContext(actor_id=trip.creator_id, correlation_id=uuid4())):
        first.update_details(title="Changed, never saved")
    again = events.find(trip.id, Trip)
    assert again is not None and (again.title, again.version) == ("Japan", 1)


def test_a_trip_changed_after_it_was_saved_is_not_handed_out() -> None:
    events = EventStore()
    trip = saved_trip(events)
    with acting_as(CommandContext(actor_id=trip.creator_id, correlation_id=uuid4())):
        trip.add_member(uuid4(), Role.EDITOR)  # after its save, and not saved: against the rule
    found = events.find(trip.id, Trip)
    assert found is not None
    assert (found.version, len(found.members)) == (1, 1)


def test_a_load_after_a_save_starts_from_what_was_saved() -> None:
    events = EventStore()
    trip = saved_trip(events)
    loaded = events.find(trip.id, Trip)
    assert loaded is not None
    with acting_as(CommandContext(actor_id=trip.creator_id, correlation_id=uuid4())):
        loaded.update_details(title="Kyoto")
    events.save(loaded)
    found = events.find(trip.id, Trip)
    assert found is not None and found is not loaded
    assert (found.title, found.version) == ("Kyoto", 2)
