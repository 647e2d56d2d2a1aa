"""The trip views projection: each trip's document (members, destinations, activities, in
order, with cost totals) and, derived from it, the rows of its members' trip lists.

Pure: handlers change a working copy of the document; nothing here does I/O.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar
from uuid import UUID

import iso4217
from fractional_indexing import generate_key_between

from projections.engine.projection import MissingStateError, Projection
from projections.places import zone_at
from read_side.documents import (
    ActivityDocument,
    DestinationDocument,
    MomentDocument,
    TripDocument,
    TripListEntry,
)
from streams.contracts import (
    ActivityAdded,
    ActivityMoved,
    ActivityRemoved,
    ActivityUpdated,
    DestinationAdded,
    DestinationMoved,
    DestinationRemoved,
    DestinationTimeZoneSet,
    DestinationUpdated,
    EventEnvelope,
    MemberAdded,
    MemberRemoved,
    MemberRoleChanged,
    Moment,
    SyncConflictRecorded,
    TripArchived,
    TripCreated,
    TripCurrencyChosen,
    TripDetailsUpdated,
    TripRestored,
    TripStatusChanged,
    TripVisibilityChanged,
)
from streams.topics import TRIP_EVENTS


def _working_copy(document: TripDocument) -> TripDocument:
    draft = document.copy()
    draft["members"] = [member.copy() for member in document["members"]]
    draft["destinations"] = [_destination_copy(d) for d in document["destinations"]]
    return draft


def _destination_copy(destination: DestinationDocument) -> DestinationDocument:
    copy = destination.copy()
    copy["activities"] = [activity.copy() for activity in destination["activities"]]
    return copy


def _finished(draft: TripDocument) -> TripDocument:
    """Destinations and activities in rank order, numbered, and the totals per currency."""
    destinations = sorted(draft["destinations"], key=lambda d: (d["rank"], d["id"]))
    totals: dict[str, Decimal] = {}
    for n, destination in enumerate(destinations):
        destination["order"] = n
        activities = sorted(destination["activities"], key=lambda a: (a["rank"], a["id"]))
        for m, activity in enumerate(activities):
            activity["order"] = m
            cost, currency = activity["cost"], activity["currency"]
            if cost is not None and currency is not None:
                totals[currency] = totals.get(currency, Decimal(0)) + Decimal(cost)
        destination["activities"] = activities
    draft["destinations"] = destinations
    draft["totals"] = {c: str(_in_minor_units(totals[c], c)) for c in sorted(totals)}
    return draft


def _in_minor_units(amount: Decimal, currency: str) -> Decimal:
    """The amount with as many decimal places as the currency has (JPY 0, EUR 2, KWD 3)."""
    try:
        exponent = iso4217.Currency(currency).exponent
    except ValueError:
        exponent = None
    return amount if exponent is None else amount.quantize(Decimal(1).scaleb(-exponent))


TRIP_VIEWS: Projection[TripDocument] = Projection(
    name="trip_views",
    version=4,  # 2: members' joined_at and invited_by; entities' parent ids and timestamps
    # 3: the trip's currency, destinations' time zones
    # 4: beside each view, the trip as served, its members, visibility and archived flag
    topics=(TRIP_EVENTS,),
    begin=_working_copy,
    finish=_finished,
)
TRIP_VIEWS.ignores(SyncConflictRecorded)  # a conflict changes no trip (analytics count them)


def trip_list_entries(document: TripDocument | None) -> list[TripListEntry]:
    """The trip-list row of every member; an archived trip is in nobody's list."""
    if document is None or document["archived"]:
        return []
    return [
        TripListEntry(
            user_id=member["user_id"],
            trip_id=document["id"],
            role=member["role"],
            title=document["title"],
            start_date=document["start_date"],
            end_date=document["end_date"],
            status=document["status"],
        )
        for member in document["members"]
    ]


def _time(moment: datetime) -> str:
    """As pydantic writes it in JSON (UTC as `Z`), so stored documents read back alike."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _day(day: date) -> str:
    return day.isoformat()


def _moment(moment: Moment | None) -> MomentDocument | None:
    if moment is None:
        return None
    return MomentDocument(
        local=_time(moment.local), time_zone=moment.time_zone, utc=_time(moment.utc)
    )


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _touched(document: TripDocument | None, event: EventEnvelope) -> TripDocument:
    """The document, stamped with the event's version and time (every event changes both)."""
    if document is None:
        raise MissingStateError(event)
    document["version"] = event.aggregate_version
    document["updated_at"] = _time(event.occurred_at)
    return document


def _destination(document: TripDocument, destination_id: UUID) -> DestinationDocument:
    wanted = str(destination_id)
    for destination in document["destinations"]:
        if destination["id"] == wanted:
            return destination
    raise KeyError(f"trip {document['id']} has no destination {wanted}")


def _activity(document: TripDocument, activity_id: UUID) -> ActivityDocument:
    wanted = str(activity_id)
    for destination in document["destinations"]:
        for activity in destination["activities"]:
            if activity["id"] == wanted:
                return activity
    raise KeyError(f"trip {document['id']} has no activity {wanted}")


R = TypeVar("R", DestinationDocument, ActivityDocument)


def _rank_last(siblings: list[R]) -> str:
    """Where the write side put an item added before ranks existed: after its siblings."""
    ranks = sorted(s["rank"] for s in siblings)
    return str(generate_key_between(ranks[-1] if ranks else None, None))


@TRIP_VIEWS.applies(TripCreated)
def _created(document: TripDocument | None, event: TripCreated) -> TripDocument:
    p = event.payload
    at = _time(event.occurred_at)
    return TripDocument(
        id=str(event.aggregate_id),
        version=event.aggregate_version,
        title=p.title,
        description=p.description,
        start_date=_day(p.start_date),
        end_date=_day(p.end_date),
        creator_id=str(p.creator_id),
        members=[
            {"user_id": str(p.creator_id), "role": "owner", "joined_at": at, "invited_by": None}
        ],
        destinations=[],
        status="draft",
        visibility="private",
        archived=False,
        totals={},
        created_at=at,
        updated_at=at,
        currency=None,
    )


@TRIP_VIEWS.applies(TripDetailsUpdated)
def _details_updated(document: TripDocument | None, event: TripDetailsUpdated) -> TripDocument:
    document = _touched(document, event)
    p = event.payload
    if p.title is not None:
        document["title"] = p.title
    if p.description is not None:
        document["description"] = p.description
    if p.start_date is not None:
        document["start_date"] = _day(p.start_date)
    if p.end_date is not None:
        document["end_date"] = _day(p.end_date)
    return document


@TRIP_VIEWS.applies(TripStatusChanged)
def _status_changed(document: TripDocument | None, event: TripStatusChanged) -> TripDocument:
    document = _touched(document, event)
    document["status"] = event.payload.status
    return document


@TRIP_VIEWS.applies(TripVisibilityChanged)
def _visibility_changed(
    document: TripDocument | None, event: TripVisibilityChanged
) -> TripDocument:
    document = _touched(document, event)
    document["visibility"] = event.payload.visibility
    return document


@TRIP_VIEWS.applies(TripArchived)
def _archived(document: TripDocument | None, event: TripArchived) -> TripDocument:
    document = _touched(document, event)
    document["archived"] = True
    return document


@TRIP_VIEWS.applies(TripRestored)
def _restored(document: TripDocument | None, event: TripRestored) -> TripDocument:
    document = _touched(document, event)
    document["archived"] = False
    return document


@TRIP_VIEWS.applies(MemberAdded)
def _member_added(document: TripDocument | None, event: MemberAdded) -> TripDocument:
    document = _touched(document, event)
    document["members"].append(
        {
            "user_id": str(event.payload.user_id),
            "role": event.payload.role,
            "joined_at": document["updated_at"],
            "invited_by": str(event.actor_id),
        }
    )
    return document


@TRIP_VIEWS.applies(MemberRoleChanged)
def _member_role_changed(document: TripDocument | None, event: MemberRoleChanged) -> TripDocument:
    document = _touched(document, event)
    user_id = str(event.payload.user_id)
    for member in document["members"]:
        if member["user_id"] == user_id:
            member["role"] = event.payload.role
    return document


@TRIP_VIEWS.applies(MemberRemoved)
def _member_removed(document: TripDocument | None, event: MemberRemoved) -> TripDocument:
    document = _touched(document, event)
    user_id = str(event.payload.user_id)
    document["members"] = [m for m in document["members"] if m["user_id"] != user_id]
    return document


@TRIP_VIEWS.applies(DestinationAdded)
def _destination_added(document: TripDocument | None, event: DestinationAdded) -> TripDocument:
    document = _touched(document, event)
    p = event.payload
    document["destinations"].append(
        DestinationDocument(
            id=str(p.destination_id),
            trip_id=document["id"],
            name=p.name,
            description=p.description,
            location=p.location.model_dump(),
            arrival_date=_day(p.arrival_date),
            departure_date=_day(p.departure_date),
            rank=p.rank or _rank_last(document["destinations"]),
            order=0,
            activities=[],
            created_at=document["updated_at"],
            updated_at=document["updated_at"],
            time_zone=zone_at(p.location.lat, p.location.lng),
            time_zone_set=False,
        )
    )
    return document


@TRIP_VIEWS.applies(DestinationTimeZoneSet)
def _time_zone_set(document: TripDocument | None, event: DestinationTimeZoneSet) -> TripDocument:
    document = _touched(document, event)
    destination = _destination(document, event.payload.destination_id)
    destination["time_zone"] = event.payload.time_zone
    destination["time_zone_set"] = True
    destination["updated_at"] = document["updated_at"]
    return document


@TRIP_VIEWS.applies(TripCurrencyChosen)
def _currency_chosen(document: TripDocument | None, event: TripCurrencyChosen) -> TripDocument:
    document = _touched(document, event)
    document["currency"] = event.payload.currency
    return document


@TRIP_VIEWS.applies(DestinationUpdated)
def _destination_updated(document: TripDocument | None, event: DestinationUpdated) -> TripDocument:
    document = _touched(document, event)
    p = event.payload
    destination = _destination(document, p.destination_id)
    destination["updated_at"] = document["updated_at"]
    destination["name"] = p.name
    destination["description"] = p.description
    destination["location"] = p.location.model_dump()
    if not destination["time_zone_set"]:
        destination["time_zone"] = zone_at(p.location.lat, p.location.lng)
    destination["arrival_date"] = _day(p.arrival_date)
    destination["departure_date"] = _day(p.departure_date)
    return document


@TRIP_VIEWS.applies(DestinationRemoved)
def _destination_removed(document: TripDocument | None, event: DestinationRemoved) -> TripDocument:
    document = _touched(document, event)
    gone = str(event.payload.destination_id)
    document["destinations"] = [d for d in document["destinations"] if d["id"] != gone]
    return document


@TRIP_VIEWS.applies(DestinationMoved)
def _destination_moved(document: TripDocument | None, event: DestinationMoved) -> TripDocument:
    document = _touched(document, event)
    destination = _destination(document, event.payload.destination_id)
    destination["rank"] = event.payload.rank
    destination["updated_at"] = document["updated_at"]
    return document


@TRIP_VIEWS.applies(ActivityAdded)
def _activity_added(document: TripDocument | None, event: ActivityAdded) -> TripDocument:
    document = _touched(document, event)
    p = event.payload
    destination = _destination(document, p.destination_id)
    destination["activities"].append(
        ActivityDocument(
            id=str(p.activity_id),
            destination_id=destination["id"],
            title=p.title,
            description=p.description,
            activity_type=p.activity_type,
            start=_moment(p.start),
            end=_moment(p.end),
            cost=_money(p.cost),
            currency=p.currency,
            rank=p.rank or _rank_last(destination["activities"]),
            order=0,
            created_at=document["updated_at"],
            updated_at=document["updated_at"],
        )
    )
    return document


@TRIP_VIEWS.applies(ActivityUpdated)
def _activity_updated(document: TripDocument | None, event: ActivityUpdated) -> TripDocument:
    document = _touched(document, event)
    p = event.payload
    activity = _activity(document, p.activity_id)
    activity["updated_at"] = document["updated_at"]
    changes = p.changes
    for name in p.changed:
        if name == "title" and changes.title is not None:
            activity["title"] = changes.title
        elif name == "description" and changes.description is not None:
            activity["description"] = changes.description
        elif name == "activity_type" and changes.activity_type is not None:
            activity["activity_type"] = changes.activity_type
        elif name == "start":
            activity["start"] = _moment(changes.start)
        elif name == "end":
            activity["end"] = _moment(changes.end)
        elif name == "cost":
            activity["cost"] = _money(changes.cost)
        elif name == "currency":
            activity["currency"] = changes.currency
        else:
            raise ValueError(f"ActivityUpdated cannot set {name} to {getattr(changes, name)!r}")
    return document


@TRIP_VIEWS.applies(ActivityRemoved)
def _activity_removed(document: TripDocument | None, event: ActivityRemoved) -> TripDocument:
    document = _touched(document, event)
    gone = str(event.payload.activity_id)
    for destination in document["destinations"]:
        destination["activities"] = [a for a in destination["activities"] if a["id"] != gone]
    return document


@TRIP_VIEWS.applies(ActivityMoved)
def _activity_moved(document: TripDocument | None, event: ActivityMoved) -> TripDocument:
    document = _touched(document, event)
    activity = _activity(document, event.payload.activity_id)
    activity["rank"] = event.payload.rank
    activity["updated_at"] = document["updated_at"]
    return document
