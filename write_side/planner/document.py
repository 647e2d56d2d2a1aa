"""A draft as a JSON document (what the Completed event records and the read model serves),
and back. Money as strings, dates and local times in ISO 8601, ids as strings.

Items and proposed destinations get their ids here, derived from the draft's id and their
place in it: accepting an item creates the trip's activity (or destination) under that id,
so accepting it twice, by anyone, creates it once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from write_side.planner.drafting import (
    Draft,
    DraftDay,
    DraftDestination,
    DraftItem,
    Leftover,
)
from write_side.trips.itinerary import ActivityType

DOCUMENT_VERSION = 1


def with_ids(draft_id: UUID, draft: Draft) -> Draft:
    """The draft with an id on every item and proposed destination."""
    destinations = tuple(
        replace(d, item_id=uuid5(draft_id, f"destination/{n}"))
        for n, d in enumerate(draft.destinations)
    )
    counter = iter(range(len(draft.items())))
    days = tuple(
        replace(
            day,
            items=tuple(
                replace(item, item_id=uuid5(draft_id, f"item/{next(counter)}"))
                for item in day.items
            ),
        )
        for day in draft.days
    )
    return replace(draft, days=days, destinations=destinations)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _item(item: DraftItem) -> dict[str, Any]:
    return {
        "item_id": None if item.item_id is None else str(item.item_id),
        "title": item.title,
        "description": item.description,
        "activity_type": item.activity_type.value,
        "destination_id": None if item.destination_id is None else str(item.destination_id),
        "new_destination": item.new_destination,
        "start": item.start.isoformat(),
        "end": item.end.isoformat(),
        "time_zone": item.time_zone,
        "cost": _money(item.cost),
        "currency": item.currency,
        "reason": item.reason,
        "idea_key": item.idea_key,
    }


def _destination(d: DraftDestination) -> dict[str, Any]:
    return {
        "item_id": None if d.item_id is None else str(d.item_id),
        "key": d.key,
        "name": d.name,
        "description": d.description,
        "location": {"lat": d.lat, "lng": d.lng},
        "time_zone": d.time_zone,
        "arrival_date": d.arrival_date.isoformat(),
        "departure_date": d.departure_date.isoformat(),
        "reason": d.reason,
    }


def to_document(draft: Draft) -> dict[str, Any]:
    return {
        "version": DOCUMENT_VERSION,
        "summary": draft.summary,
        "days": [
            {"date": day.day.isoformat(), "items": [_item(i) for i in day.items]}
            for day in draft.days
        ],
        "destinations": [_destination(d) for d in draft.destinations],
        "leftovers": [
            {"key": left.key, "title": left.title, "reason": left.reason}
            for left in draft.leftovers
        ],
    }


def _uuid(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _item_of(data: dict[str, Any]) -> DraftItem:
    return DraftItem(
        title=data["title"],
        description=data["description"],
        activity_type=ActivityType(data["activity_type"]),
        start=datetime.fromisoformat(data["start"]),
        end=datetime.fromisoformat(data["end"]),
        time_zone=data["time_zone"],
        reason=data["reason"],
        destination_id=_uuid(data["destination_id"]),
        new_destination=data["new_destination"],
        cost=_decimal(data["cost"]),
        currency=data["currency"],
        idea_key=data["idea_key"],
        item_id=_uuid(data["item_id"]),
    )


def _destination_of(data: dict[str, Any]) -> DraftDestination:
    return DraftDestination(
        key=data["key"],
        name=data["name"],
        description=data["description"],
        lat=float(data["location"]["lat"]),
        lng=float(data["location"]["lng"]),
        time_zone=data["time_zone"],
        arrival_date=date.fromisoformat(data["arrival_date"]),
        departure_date=date.fromisoformat(data["departure_date"]),
        reason=data["reason"],
        item_id=_uuid(data["item_id"]),
    )


def from_document(document: dict[str, Any]) -> Draft:
    return Draft(
        days=tuple(
            DraftDay(date.fromisoformat(day["date"]), tuple(_item_of(i) for i in day["items"]))
            for day in document["days"]
        ),
        destinations=tuple(_destination_of(d) for d in document["destinations"]),
        leftovers=tuple(
            Leftover(left["key"], left["title"], left["reason"]) for left in document["leftovers"]
        ),
        summary=document["summary"],
    )
