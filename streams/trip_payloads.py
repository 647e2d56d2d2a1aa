"""The payloads of `trip-events`: what each trip event says, besides its envelope."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import ConfigDict, WithJsonSchema

from streams.envelope import Contract


class Location(Contract):
    lat: float
    lng: float
    address: str = ""


class TripCreatedPayload(Contract):
    title: str
    description: str
    start_date: date
    end_date: date
    creator_id: UUID


class TripDetailsUpdatedPayload(Contract):
    title: str | None
    description: str | None
    start_date: date | None
    end_date: date | None


class DestinationAddedV1Payload(Contract):
    destination_id: UUID
    name: str
    description: str
    location: Location
    arrival_date: date
    departure_date: date


class DestinationAddedPayload(DestinationAddedV1Payload):
    rank: str | None  # None: after the destinations before it (added before ranks existed)


class ActivityAddedV1Payload(Contract):
    destination_id: UUID
    activity_id: UUID
    title: str
    description: str
    activity_type: str
    start_time: datetime | None
    end_time: datetime | None
    cost: Decimal | None


# A wall-clock time has no offset: JSON Schema's `date-time` (RFC 3339) requires one.
LocalDateTime = Annotated[
    datetime,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$",
            "description": "A wall-clock time without offset (ISO 8601), read in `time_zone`.",
        }
    ),
]


class Moment(Contract):
    """A wall-clock time, the IANA zone it is read in, and the instant it is."""

    local: LocalDateTime
    time_zone: str
    utc: datetime


class ActivityAddedPayload(Contract):
    destination_id: UUID
    activity_id: UUID
    title: str
    description: str
    activity_type: str
    start: Moment | None
    end: Moment | None
    cost: Decimal | None
    currency: str | None
    rank: str | None


class DestinationUpdatedPayload(Contract):
    destination_id: UUID
    name: str
    description: str
    location: Location
    arrival_date: date
    departure_date: date


class DestinationRefPayload(Contract):
    destination_id: UUID


class RankedDestinationPayload(Contract):
    destination_id: UUID
    rank: str


class ActivityChanges(Contract):
    """Only the fields that changed are present."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    title: str | None = None
    description: str | None = None
    activity_type: str | None = None
    start: Moment | None = None
    end: Moment | None = None
    cost: Decimal | None = None
    currency: str | None = None


class ActivityUpdatedPayload(Contract):
    activity_id: UUID
    changes: ActivityChanges
    changed: tuple[str, ...]  # the names that changed (a change to null is in here)


class ActivityRefPayload(Contract):
    activity_id: UUID


class RankedActivityPayload(Contract):
    activity_id: UUID
    rank: str


class TripStatusChangedPayload(Contract):
    status: str


class TripVisibilityChangedPayload(Contract):
    visibility: str


class TripCurrencyChosenPayload(Contract):
    currency: str  # ISO 4217


class DestinationTimeZoneSetPayload(Contract):
    destination_id: UUID
    time_zone: str  # IANA


class EmptyPayload(Contract):
    pass


class MemberPayload(Contract):
    user_id: UUID
    role: str


class MemberRemovedPayload(Contract):
    user_id: UUID


class SyncConflictRecordedPayload(Contract):
    trip_id: UUID
    entity_type: str  # trip, destination, activity
    action: str  # update, delete
    fields: list[str]  # the fields another member changed meanwhile
