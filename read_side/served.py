"""A trip's view as the API serves it, rendered once when the view is stored instead of on
every read: the JSON `TripView` encodes to (its computed fields included, the document's
internal fields left out), without `members`, which the read adds with their current
profiles. Pure: a document in, JSON text out."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from pydantic import TypeAdapter

from read_side.documents import ActivityDocument, DestinationDocument, MomentDocument, TripDocument

# pydantic's own encoding of an aware datetime (UTC as `Z`, offsets to the minute), so a
# computed time reads exactly as `TripView` wrote it.
_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)

_TRIP_FIELDS = (
    "id",
    "version",
    "title",
    "description",
    "start_date",
    "end_date",
    "creator_id",
    "destinations",
    "status",
    "visibility",
    "archived",
    "totals",
    "created_at",
    "updated_at",
    "currency",
)
_DESTINATION_FIELDS = (
    "id",
    "trip_id",
    "name",
    "description",
    "location",
    "arrival_date",
    "departure_date",
    "rank",
    "order",
    "activities",
    "created_at",
    "updated_at",
    "time_zone",
)
_ACTIVITY_FIELDS = (
    "id",
    "destination_id",
    "title",
    "description",
    "activity_type",
    "start",
    "end",
    "cost",
    "currency",
    "rank",
    "order",
    "created_at",
    "updated_at",
)


def served_trip(document: TripDocument) -> str:
    """The trip's served JSON object, without `members` (see `with_members`)."""
    served: dict[str, Any] = {field: document[field] for field in _TRIP_FIELDS}  # type: ignore[literal-required]
    served["destinations"] = [_destination(d) for d in document["destinations"]]
    served["creator"] = document["creator_id"]
    return orjson.dumps(served).decode()


def with_members(served: str, members_json: str) -> str:
    """The served trip with its members (a JSON array) added: one string splice."""
    return f'{served[:-1]},"members":{members_json}}}'


def _destination(destination: DestinationDocument) -> dict[str, Any]:
    served: dict[str, Any] = {field: destination[field] for field in _DESTINATION_FIELDS}  # type: ignore[literal-required]
    served["activities"] = [_activity(a) for a in destination["activities"]]
    return served


def _activity(activity: ActivityDocument) -> dict[str, Any]:
    served: dict[str, Any] = {field: activity[field] for field in _ACTIVITY_FIELDS}  # type: ignore[literal-required]
    served["start_time"] = _with_offset(activity["start"])
    served["end_time"] = _with_offset(activity["end"])
    return served


def _with_offset(moment: MomentDocument | None) -> Any:
    """`MomentView.with_offset`, encoded: the instant as the wall clock there reads it."""
    if moment is None:
        return None
    utc = datetime.fromisoformat(moment["utc"])
    return _DATETIME.dump_python(utc.astimezone(ZoneInfo(moment["time_zone"])), mode="json")
