"""Versioned event contracts: the JSON that analytics consumers and projectors read.

Every message on a domain topic is one of these envelopes. `schema_version` changes when a
payload changes shape; consumers parse with `parse_trip_event` and reject what they do not know.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EventEnvelope(Contract):
    event_id: UUID
    event_type: str
    schema_version: int
    aggregate_id: UUID
    aggregate_version: int = Field(ge=1)
    occurred_at: datetime
    actor_id: UUID
    correlation_id: UUID


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


class DestinationAddedPayload(Contract):
    destination_id: UUID
    name: str
    description: str
    location: Location
    arrival_date: date
    departure_date: date


class ActivityAddedPayload(Contract):
    destination_id: UUID
    activity_id: UUID
    title: str
    description: str
    activity_type: str
    start_time: datetime | None
    end_time: datetime | None
    cost: Decimal | None


class TripStatusChangedPayload(Contract):
    status: str


class TripVisibilityChangedPayload(Contract):
    visibility: str


class EmptyPayload(Contract):
    pass


class MemberPayload(Contract):
    user_id: UUID
    role: str


class MemberRemovedPayload(Contract):
    user_id: UUID


class TripCreated(EventEnvelope):
    event_type: Literal["TripCreated"] = "TripCreated"
    schema_version: Literal[1] = 1
    payload: TripCreatedPayload


class TripDetailsUpdated(EventEnvelope):
    event_type: Literal["TripDetailsUpdated"] = "TripDetailsUpdated"
    schema_version: Literal[1] = 1
    payload: TripDetailsUpdatedPayload


class DestinationAdded(EventEnvelope):
    event_type: Literal["DestinationAdded"] = "DestinationAdded"
    schema_version: Literal[1] = 1
    payload: DestinationAddedPayload


class ActivityAdded(EventEnvelope):
    event_type: Literal["ActivityAdded"] = "ActivityAdded"
    schema_version: Literal[1] = 1
    payload: ActivityAddedPayload


class TripStatusChanged(EventEnvelope):
    event_type: Literal["TripStatusChanged"] = "TripStatusChanged"
    schema_version: Literal[1] = 1
    payload: TripStatusChangedPayload


class TripVisibilityChanged(EventEnvelope):
    event_type: Literal["TripVisibilityChanged"] = "TripVisibilityChanged"
    schema_version: Literal[1] = 1
    payload: TripVisibilityChangedPayload


class TripArchived(EventEnvelope):
    event_type: Literal["TripArchived"] = "TripArchived"
    schema_version: Literal[1] = 1
    payload: EmptyPayload = EmptyPayload()


class TripRestored(EventEnvelope):
    event_type: Literal["TripRestored"] = "TripRestored"
    schema_version: Literal[1] = 1
    payload: EmptyPayload = EmptyPayload()


class MemberAdded(EventEnvelope):
    event_type: Literal["MemberAdded"] = "MemberAdded"
    schema_version: Literal[1] = 1
    payload: MemberPayload


class MemberRoleChanged(EventEnvelope):
    event_type: Literal["MemberRoleChanged"] = "MemberRoleChanged"
    schema_version: Literal[1] = 1
    payload: MemberPayload


class MemberRemoved(EventEnvelope):
    event_type: Literal["MemberRemoved"] = "MemberRemoved"
    schema_version: Literal[1] = 1
    payload: MemberRemovedPayload


TripEvent = Annotated[
    TripCreated
    | TripDetailsUpdated
    | DestinationAdded
    | ActivityAdded
    | TripStatusChanged
    | TripVisibilityChanged
    | TripArchived
    | TripRestored
    | MemberAdded
    | MemberRoleChanged
    | MemberRemoved,
    Field(discriminator="event_type"),
]

_trip_event = TypeAdapter[TripEvent](TripEvent)


def parse_trip_event(raw: bytes | str) -> TripEvent:
    """Parse one `trip-events` message value; raises pydantic.ValidationError if malformed."""
    return _trip_event.validate_json(raw)


def serialize_event(event: EventEnvelope) -> bytes:
    return event.model_dump_json().encode()
