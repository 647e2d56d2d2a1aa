"""The pure parts of offline sync: the signed cursor, the feed's entity diff, and which
fields other users changed since a version."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from projections.sync_feed import feed_rows
from read_side.errors import InvalidCursorError, SyncResetRequiredError
from read_side.sync_cursor import CursorCodec, SyncCursor
from write_side.context import CommandContext, acting_as
from write_side.sync.fields import since
from write_side.trips.trip import Trip

ADA, BOB = uuid.uuid4(), uuid.uuid4()
LOCATION = {"lat": 38.71, "lng": -9.13}


def codec(ttl: float = 3600) -> CursorCodec:
    return CursorCodec(b"k" * 32, ttl)


def cursor(**more: Any) -> SyncCursor:
    return SyncCursor(ADA, uuid.uuid4(), ("trip", "message"), {uuid.uuid4(): 7}, 3, **more)


def test_a_cursor_comes_back_as_it_was_issued() -> None:
    issued = cursor()
    back = codec().decode(codec().encode(issued), ADA)
    assert (back.epoch, back.entity_types, back.positions, back.acked) == (
        issued.epoch,
        issued.entity_types,
        issued.positions,
        issued.acked,
    )


def test_an_altered_foreign_or_stale_cursor_is_refused() -> None:
    text = codec().encode(cursor())
    body, tag = text.split(".")
    with pytest.raises(InvalidCursorError):
        codec().decode(f"{body}x.{tag}", ADA)
    with pytest.raises(InvalidCursorError):
        CursorCodec(b"other key" * 4, 3600).decode(text, ADA)
    with pytest.raises(InvalidCursorError):
        codec().decode(text, BOB)
    with pytest.raises(InvalidCursorError):
        codec().decode("not.a.cursor", ADA)
    with pytest.raises(SyncResetRequiredError):
        codec(ttl=60).decode(text, ADA, now=codec().decode(text, ADA).issued_at + 61)


def trip_document(version: int, *destinations: dict[str, Any]) -> Any:
    return {
        "id": "t",
        "version": version,
        "title": "Lisbon",
        "updated_at": f"stamp {version}",
        "members": [],
        "destinations": list(destinations),
    }


def place(name: str, *activities: str, updated: str = "a") -> dict[str, Any]:
    return {
        "id": name,
        "name": name,
        "updated_at": updated,
        "activities": [{"id": a, "title": a} for a in activities],
    }


def test_the_feed_holds_what_changed_and_tombstones_what_went() -> None:
    before = trip_document(3, place("d1", "a1"), place("d2", "a2"))
    after = trip_document(4, place("d1", "a1", updated="b"), place("d3"))
    rows = {(r["entity_type"], r["entity_id"]): r for r in feed_rows(before, after)}
    # A new stamp alone (the trip's, d1's) is no change; d3 is new; d2 and a2 are gone.
    assert set(rows) == {("destination", "d3"), ("destination", "d2"), ("activity", "a2")}
    assert rows[("destination", "d3")]["data"] == {
        "id": "d3",
        "name": "d3",
        "updated_at": "a",
        "version": 4,
    }
    assert rows[("destination", "d2")]["deleted"] and rows[("activity", "a2")]["data"] is None
    assert {r["version"] for r in rows.values()} == {4}
    assert len(feed_rows(None, after)) == 4  # all is new to a first state: t, d1, a1, d3


def planned() -> tuple[Trip, uuid.UUID]:
    with acting_as(CommandContext(ADA, uuid.uuid4())):
        trip = Trip.plan(
            title="Lisbon",
            description="",
            start_date=date(2027, 4, 1),
            end_date=date(2027, 4, 10),
            creator_id=ADA,
        )
        destination_id = trip.add_destination(
            name="Alfama",
            description="",
            location=LOCATION,
            arrival_date=date(2027, 4, 1),
            departure_date=date(2027, 4, 3),
        )
    return trip, destination_id


def rename(trip: Trip, destination_id: uuid.UUID, actor: uuid.UUID, **fields: Any) -> None:
    now = trip.destination(destination_id)
    with acting_as(CommandContext(actor, uuid.uuid4())):
        trip.update_destination(
            destination_id,
            name=fields.get("name", now.name),
            description=fields.get("description", now.description),
            location=now.location,
            arrival_date=now.arrival_date,
            departure_date=now.departure_date,
        )


def base_of(trip: Trip) -> Trip:
    state: Any = None
    for event in trip.collect_events():
        state = event.mutate(state)
    assert isinstance(state, Trip)
    return state


def test_only_other_users_changes_since_the_base_count() -> None:
    trip, destination_id = planned()
    then = base_of(trip)
    rename(trip, destination_id, BOB, name="Belém")
    rename(trip, destination_id, ADA, description="mine")
    found = since(then, trip.collect_events(), "destination", destination_id, ADA)  # type: ignore[arg-type]
    assert found.changed_by_others == {"name"} and not found.gone


def test_an_entity_removed_since_the_base_is_gone() -> None:
    trip, destination_id = planned()
    then = base_of(trip)
    with acting_as(CommandContext(BOB, uuid.uuid4())):
        trip.remove_destination(destination_id)
    found = since(then, trip.collect_events(), "destination", destination_id, ADA)  # type: ignore[arg-type]
    assert found.gone
