"""What recommendations are drawn from: each trip's words and places. Pure; no I/O.

Per trip: its visibility, whether it is archived, its title and description, its
destinations (name, description, location, dates) and activities (title, description, type,
cost). From that state, `catalogue_entries` gives the candidates a public, unarchived trip
offers others, and `profile_text` the text that stands for the whole trip when its own
suggestions are ranked. The tables' adapter (infra) embeds those texts: the state stays
plain data, and a rebuild embeds again from the events.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypedDict
from uuid import UUID

from projections.engine.projection import MissingStateError, Projection
from streams import contracts as c
from streams.contracts import EventEnvelope
from streams.topics import TRIP_EVENTS

PROFILE_CHARS = 2000  # the model reads about 256 word pieces: more text changes nothing


class Place(TypedDict):
    name: str
    description: str
    lat: float
    lng: float
    arrival_date: str
    departure_date: str


class Plan(TypedDict):
    destination_id: str
    title: str
    description: str
    activity_type: str
    cost: str | None
    currency: str | None


class TripContent(TypedDict):
    visibility: str
    archived: bool
    title: str
    description: str
    destinations: dict[str, Place]
    activities: dict[str, Plan]


@dataclass(frozen=True)
class CatalogueEntry:
    """A destination or activity a public trip offers others, with the text to embed."""

    item_id: UUID
    trip_id: UUID
    kind: Literal["activity", "destination"]
    title: str
    description: str
    activity_type: str | None
    destination_id: UUID
    lat: float
    lng: float
    cost: Decimal | None
    currency: str | None
    text: str


def _copy(trip: TripContent) -> TripContent:
    return TripContent(
        visibility=trip["visibility"],
        archived=trip["archived"],
        title=trip["title"],
        description=trip["description"],
        destinations={k: Place(**v) for k, v in trip["destinations"].items()},
        activities={k: Plan(**v) for k, v in trip["activities"].items()},
    )


# A trip's profile is embedded again whenever its text changed (its title, any destination or
# activity): at every write of a busy trip that took a quarter of the machine's CPU under the
# reads benchmark's mixed load. Gathered, each trip is embedded once per batch.
RECOMMENDATION_CATALOGUE: Projection[TripContent] = Projection(
    name="recommendation_catalogue",
    version=1,
    topics=(TRIP_EVENTS,),
    begin=_copy,
    gather_seconds=2.0,
)
# Order, zones, status, currency and members change nothing a suggestion says.
RECOMMENDATION_CATALOGUE.ignores(
    c.DestinationMoved,
    c.ActivityMoved,
    c.DestinationTimeZoneSet,
    c.TripStatusChanged,
    c.TripCurrencyChosen,
    c.MemberAdded,
    c.MemberRoleChanged,
    c.MemberRemoved,
    c.SyncConflictRecorded,
)


def _trip(trip: TripContent | None, event: EventEnvelope) -> TripContent:
    if trip is None:
        raise MissingStateError(event)
    return trip


@RECOMMENDATION_CATALOGUE.applies(c.TripCreated)
def _created(trip: TripContent | None, event: c.TripCreated) -> TripContent:
    p = event.payload
    return TripContent(
        visibility="private",
        archived=False,
        title=p.title,
        description=p.description,
        destinations={},
        activities={},
    )


@RECOMMENDATION_CATALOGUE.applies(c.TripDetailsUpdated)
def _details(trip: TripContent | None, event: c.TripDetailsUpdated) -> TripContent:
    found, p = _trip(trip, event), event.payload
    if p.title is not None:
        found["title"] = p.title
    if p.description is not None:
        found["description"] = p.description
    return found


@RECOMMENDATION_CATALOGUE.applies(c.TripVisibilityChanged)
def _visibility(trip: TripContent | None, event: c.TripVisibilityChanged) -> TripContent:
    found = _trip(trip, event)
    found["visibility"] = event.payload.visibility
    return found


@RECOMMENDATION_CATALOGUE.applies(c.TripArchived)
def _archived(trip: TripContent | None, event: c.TripArchived) -> TripContent:
    found = _trip(trip, event)
    found["archived"] = True
    return found


@RECOMMENDATION_CATALOGUE.applies(c.TripRestored)
def _restored(trip: TripContent | None, event: c.TripRestored) -> TripContent:
    found = _trip(trip, event)
    found["archived"] = False
    return found


def _place(p: c.DestinationAddedPayload | c.DestinationUpdatedPayload) -> Place:
    return Place(
        name=p.name,
        description=p.description,
        lat=p.location.lat,
        lng=p.location.lng,
        arrival_date=p.arrival_date.isoformat(),
        departure_date=p.departure_date.isoformat(),
    )


@RECOMMENDATION_CATALOGUE.applies(c.DestinationAdded)
def _destination_added(trip: TripContent | None, event: c.DestinationAdded) -> TripContent:
    found = _trip(trip, event)
    found["destinations"][str(event.payload.destination_id)] = _place(event.payload)
    return found


@RECOMMENDATION_CATALOGUE.applies(c.DestinationUpdated)
def _destination_updated(trip: TripContent | None, event: c.DestinationUpdated) -> TripContent:
    found = _trip(trip, event)
    found["destinations"][str(event.payload.destination_id)] = _place(event.payload)
    return found


@RECOMMENDATION_CATALOGUE.applies(c.DestinationRemoved)
def _destination_removed(trip: TripContent | None, event: c.DestinationRemoved) -> TripContent:
    found, gone = _trip(trip, event), str(event.payload.destination_id)
    found["destinations"].pop(gone, None)
    found["activities"] = {
        k: v for k, v in found["activities"].items() if v["destination_id"] != gone
    }
    return found


@RECOMMENDATION_CATALOGUE.applies(c.ActivityAdded)
def _activity_added(trip: TripContent | None, event: c.ActivityAdded) -> TripContent:
    found, p = _trip(trip, event), event.payload
    found["activities"][str(p.activity_id)] = Plan(
        destination_id=str(p.destination_id),
        title=p.title,
        description=p.description,
        activity_type=p.activity_type,
        cost=None if p.cost is None else str(p.cost),
        currency=p.currency,
    )
    return found


@RECOMMENDATION_CATALOGUE.applies(c.ActivityUpdated)
def _activity_updated(trip: TripContent | None, event: c.ActivityUpdated) -> TripContent:
    found, p = _trip(trip, event), event.payload
    plan = found["activities"].get(str(p.activity_id))
    if plan is None:
        return found
    changes = p.changes
    for name in ("title", "description", "activity_type"):
        value = getattr(changes, name)
        if name in p.changed and value is not None:
            plan[name] = value
    if "cost" in p.changed:
        plan["cost"] = None if changes.cost is None else str(changes.cost)
    if "currency" in p.changed:
        plan["currency"] = changes.currency
    return found


@RECOMMENDATION_CATALOGUE.applies(c.ActivityRemoved)
def _activity_removed(trip: TripContent | None, event: c.ActivityRemoved) -> TripContent:
    found = _trip(trip, event)
    found["activities"].pop(str(event.payload.activity_id), None)
    return found


def offered(trip: TripContent | None) -> bool:
    """Whether the trip's items are candidates for other trips."""
    return trip is not None and trip["visibility"] == "public" and not trip["archived"]


def catalogue_entries(trip_id: UUID, trip: TripContent | None) -> list[CatalogueEntry]:
    """The candidates the trip offers others: none unless it is public and not archived."""
    if trip is None or not offered(trip):
        return []
    places = trip["destinations"]
    entries = [
        CatalogueEntry(
            item_id=UUID(destination_id),
            trip_id=trip_id,
            kind="destination",
            title=place["name"],
            description=place["description"],
            activity_type=None,
            destination_id=UUID(destination_id),
            lat=place["lat"],
            lng=place["lng"],
            cost=None,
            currency=None,
            text=_joined(place["name"], place["description"]),
        )
        for destination_id, place in places.items()
    ]
    for activity_id, plan in trip["activities"].items():
        place = places.get(plan["destination_id"])
        if place is None:
            continue
        entries.append(
            CatalogueEntry(
                item_id=UUID(activity_id),
                trip_id=trip_id,
                kind="activity",
                title=plan["title"],
                description=plan["description"],
                activity_type=plan["activity_type"],
                destination_id=UUID(plan["destination_id"]),
                lat=place["lat"],
                lng=place["lng"],
                cost=None if plan["cost"] is None else Decimal(plan["cost"]),
                currency=plan["currency"],
                text=_joined(plan["title"], plan["activity_type"], plan["description"]),
            )
        )
    return entries


def profile_text(trip: TripContent) -> str:
    """The trip in words: its title and description, where it goes, what it plans."""
    places = [_joined(p["name"], p["description"]) for p in trip["destinations"].values()]
    plans = [_joined(a["title"], a["activity_type"]) for a in trip["activities"].values()]
    return _joined(trip["title"], trip["description"], *places, *plans)[:PROFILE_CHARS]


def _joined(*parts: str) -> str:
    return ". ".join(part.strip() for part in parts if part and part.strip())
