"""What the analytics projection keeps per trip (no names, titles or texts: only what the
facts and the trip's analytics need), and the facts' common fields. Pure; no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypedDict, TypeVar
from uuid import UUID

import orjson

from projections.places import cell_of, country_of, zone_at
from streams import analytics_contracts as a
from streams.contracts import EventEnvelope, Location


class Spot(TypedDict):
    """A destination: where and when."""

    cell: str
    time_zone: str
    zone_set: bool  # chosen for it; else the zone at its location, which follows it
    arrival: str  # ISO dates
    departure: str


class Planned(TypedDict):
    """An activity: what, when, for how much, and who added it."""

    destination_id: str
    activity_type: str
    start_local: str | None  # ISO: wall-clock time where it happens
    start_utc: str | None
    end_utc: str | None
    cost: str | None
    currency: str | None
    added_by: str


class TripFigures(TypedDict):
    start_date: str
    end_date: str
    currency: str | None
    visibility: str
    status: str
    members: dict[str, str]  # user id → role
    destinations: dict[str, Spot]
    activities: dict[str, Planned]
    contributions: dict[str, dict[str, int]]  # user id → what they did → how many times


class Analytics(TypedDict):
    """The state of one source aggregate: a trip's figures (None for a chat message, of
    which nothing is kept), and the facts the batch produced (never stored)."""

    trip: TripFigures | None
    new: list[a.Fact]


def begin(state: Analytics) -> Analytics:
    """A working copy, with no facts yet."""
    trip = state["trip"]
    return Analytics(trip=None if trip is None else orjson.loads(orjson.dumps(trip)), new=[])


F = TypeVar("F", bound=a.Fact)


def fact(kind: type[F], trip_id: UUID, source: EventEnvelope, payload: Any) -> F:
    """A fact of `kind` derived from `source`: its id, day and actor come from it."""
    event_type = kind.model_fields["event_type"].default
    return kind.model_validate(
        {
            "event_id": a.fact_id(source.event_id, event_type),
            "trip_id": trip_id,
            "source_event_id": source.event_id,
            "occurred_at": source.occurred_at,
            "day": source.occurred_at.astimezone(UTC).date(),
            "actor_id": source.actor_id,
            "correlation_id": source.correlation_id,
            "payload": payload,
        }
    )


def spot(location: Location, arrival: date, departure: date, before: Spot | None = None) -> Spot:
    """A destination where and when it is now; a zone chosen for it `before` stays."""
    chosen = before["time_zone"] if before is not None and before["zone_set"] else None
    return Spot(
        cell=cell_of(location.lat, location.lng),
        time_zone=chosen or zone_at(location.lat, location.lng),
        zone_set=chosen is not None,
        arrival=arrival.isoformat(),
        departure=departure.isoformat(),
    )


def place(trip: TripFigures, destination_id: str) -> a.Place:
    found = trip["destinations"].get(destination_id)
    if found is None:  # an activity outlived its destination in no history: still say so
        return a.Place(country=None, cell="unknown")
    return a.Place(country=country_of(found["time_zone"]), cell=found["cell"])


def local_date(planned: Planned) -> date | None:
    """The day an activity is planned for, where it happens."""
    start = planned["start_local"]
    return None if start is None else datetime.fromisoformat(start).date()


def hours(planned: Planned) -> float | None:
    """How long it is planned to last."""
    start, end = planned["start_utc"], planned["end_utc"]
    if start is None or end is None:
        return None
    seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return round(seconds / 3600, 2)


def figures(trip: TripFigures, activity_id: str) -> a.ActivityFigures:
    planned = trip["activities"][activity_id]
    return a.ActivityFigures(
        activity_id=UUID(activity_id),
        destination_id=UUID(planned["destination_id"]),
        activity_type=planned["activity_type"],
        local_date=local_date(planned),
        hours=hours(planned),
        place=place(trip, planned["destination_id"]),
        cost=None if planned["cost"] is None else Decimal(planned["cost"]),
        currency=planned["currency"],
        trip_currency=trip["currency"],
    )


def shape(trip: TripFigures) -> dict[str, Any]:
    start, end = date.fromisoformat(trip["start_date"]), date.fromisoformat(trip["end_date"])
    return {
        "length_days": (end - start).days + 1,
        "start_date": start,
        "end_date": end,
        "destination_count": len(trip["destinations"]),
        "activity_count": len(trip["activities"]),
        "member_count": len(trip["members"]),
        "visibility": trip["visibility"],
        "currency": trip["currency"],
    }


def credit(trip: TripFigures, event: EventEnvelope, what: str) -> None:
    """Count one thing the event's actor did to the trip."""
    done = trip["contributions"].setdefault(str(event.actor_id), {})
    done[what] = done.get(what, 0) + 1
