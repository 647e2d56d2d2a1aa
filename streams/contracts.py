"""Versioned event contracts: the JSON that analytics consumers and projectors read.

Every message on a domain topic is one of these envelopes. `schema_version` changes when a
payload changes shape (a field removed, retyped or newly required); a new optional field may
join a version, so readers ignore fields they do not know (validating with `READING` as the
context), while what we produce is checked strictly (`extra="forbid"`). Consumers parse with
`parse_trip_event` and reject event types and versions they do not know.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Union
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

# The validation context of the read path: unknown fields (from a newer producer) are dropped.
READING: dict[str, bool] = {"reading": True}


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _unknown_fields_dropped_when_reading(cls, data: Any, info: ValidationInfo) -> Any:
        if info.context is READING and type(data) is dict:
            known = cls.model_fields
            if any(name not in known for name in data):
                return {name: value for name, value in data.items() if name in known}
        return data


class EventEnvelope(Contract):
    event_id: UUID
    event_type: str
    schema_version: int
    aggregate_id: UUID
    aggregate_version: int = Field(ge=1)
    occurred_at: datetime
    actor_id: UUID
    correlation_id: UUID

    def partition_key(self) -> UUID:
        """What the message is keyed by on its topic: its events stay in order there."""
        return self.aggregate_id


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


class TripCreated(EventEnvelope):
    event_type: Literal["TripCreated"] = "TripCreated"
    schema_version: Literal[1] = 1
    payload: TripCreatedPayload


class TripDetailsUpdated(EventEnvelope):
    event_type: Literal["TripDetailsUpdated"] = "TripDetailsUpdated"
    schema_version: Literal[1] = 1
    payload: TripDetailsUpdatedPayload


class DestinationAddedV1(EventEnvelope):
    event_type: Literal["DestinationAdded"] = "DestinationAdded"
    schema_version: Literal[1] = 1
    payload: DestinationAddedV1Payload


class DestinationAdded(EventEnvelope):
    event_type: Literal["DestinationAdded"] = "DestinationAdded"
    schema_version: Literal[2] = 2
    payload: DestinationAddedPayload


class ActivityAddedV1(EventEnvelope):
    event_type: Literal["ActivityAdded"] = "ActivityAdded"
    schema_version: Literal[1] = 1
    payload: ActivityAddedV1Payload


class ActivityAdded(EventEnvelope):
    event_type: Literal["ActivityAdded"] = "ActivityAdded"
    schema_version: Literal[2] = 2
    payload: ActivityAddedPayload


class DestinationUpdated(EventEnvelope):
    event_type: Literal["DestinationUpdated"] = "DestinationUpdated"
    schema_version: Literal[1] = 1
    payload: DestinationUpdatedPayload


class DestinationRemoved(EventEnvelope):
    event_type: Literal["DestinationRemoved"] = "DestinationRemoved"
    schema_version: Literal[1] = 1
    payload: DestinationRefPayload


class DestinationMoved(EventEnvelope):
    event_type: Literal["DestinationMoved"] = "DestinationMoved"
    schema_version: Literal[1] = 1
    payload: RankedDestinationPayload


class ActivityUpdated(EventEnvelope):
    event_type: Literal["ActivityUpdated"] = "ActivityUpdated"
    schema_version: Literal[1] = 1
    payload: ActivityUpdatedPayload


class ActivityRemoved(EventEnvelope):
    event_type: Literal["ActivityRemoved"] = "ActivityRemoved"
    schema_version: Literal[1] = 1
    payload: ActivityRefPayload


class ActivityMoved(EventEnvelope):
    event_type: Literal["ActivityMoved"] = "ActivityMoved"
    schema_version: Literal[1] = 1
    payload: RankedActivityPayload


class TripStatusChanged(EventEnvelope):
    event_type: Literal["TripStatusChanged"] = "TripStatusChanged"
    schema_version: Literal[1] = 1
    payload: TripStatusChangedPayload


class TripVisibilityChanged(EventEnvelope):
    event_type: Literal["TripVisibilityChanged"] = "TripVisibilityChanged"
    schema_version: Literal[1] = 1
    payload: TripVisibilityChangedPayload


class TripCurrencyChosen(EventEnvelope):
    """Costs given without a currency are in this one from now on."""

    event_type: Literal["TripCurrencyChosen"] = "TripCurrencyChosen"
    schema_version: Literal[1] = 1
    payload: TripCurrencyChosenPayload


class DestinationTimeZoneSet(EventEnvelope):
    """A member set the destination's zone; until then it is the zone at its location."""

    event_type: Literal["DestinationTimeZoneSet"] = "DestinationTimeZoneSet"
    schema_version: Literal[1] = 1
    payload: DestinationTimeZoneSetPayload


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


class SyncConflictRecordedPayload(Contract):
    trip_id: UUID
    entity_type: str  # trip, destination, activity
    action: str  # update, delete
    fields: list[str]  # the fields another member changed meanwhile


class SyncConflictRecorded(EventEnvelope):
    """An offline change that met another member's change to the same fields (its aggregate
    is the conflict; keyed by its trip, so it stays in order with the trip's events)."""

    event_type: Literal["SyncConflictRecorded"] = "SyncConflictRecorded"
    schema_version: Literal[1] = 1
    payload: SyncConflictRecordedPayload

    def partition_key(self) -> UUID:
        return self.payload.trip_id


TRIP_CONTRACTS: tuple[type[EventEnvelope], ...] = (
    TripCreated,
    TripDetailsUpdated,
    DestinationAddedV1,
    DestinationAdded,
    DestinationUpdated,
    DestinationRemoved,
    DestinationMoved,
    ActivityAddedV1,
    ActivityAdded,
    ActivityUpdated,
    ActivityRemoved,
    ActivityMoved,
    TripStatusChanged,
    TripVisibilityChanged,
    TripCurrencyChosen,
    DestinationTimeZoneSet,
    TripArchived,
    TripRestored,
    MemberAdded,
    MemberRoleChanged,
    MemberRemoved,
    SyncConflictRecorded,
)


def _contract_tag(value: Any) -> str:
    if isinstance(value, dict):
        return f"{value.get('event_type')}/v{value.get('schema_version')}"
    return f"{value.event_type}/v{value.schema_version}"


def _tagged(contract: type[EventEnvelope]) -> Any:
    fields = contract.model_fields
    tag = f"{fields['event_type'].default}/v{fields['schema_version'].default}"
    return Annotated[contract, Tag(tag)]


# Every contract, told apart by event type and schema version (built from the tuple above).
_any_trip_event: Any = Annotated[
    Union[tuple(_tagged(c) for c in TRIP_CONTRACTS)],  # noqa: UP007
    Discriminator(_contract_tag),
]
_trip_event: TypeAdapter[EventEnvelope] = TypeAdapter(_any_trip_event)


def parse_trip_event(raw: bytes | str) -> EventEnvelope:
    """Parse one `trip-events` message value, any schema version still on the topic, and
    upgrade it to the current one; raises pydantic.ValidationError if malformed."""
    return upgrade(_trip_event.validate_json(raw, context=READING))


def upgrade(event: EventEnvelope) -> EventEnvelope:
    """The current version of a contract event published under an older schema."""
    envelope = event.model_dump(exclude={"event_type", "schema_version", "payload"})
    if isinstance(event, DestinationAddedV1):
        payload = DestinationAddedPayload(**event.payload.model_dump(), rank=None)
        return DestinationAdded(**envelope, payload=payload)
    if isinstance(event, ActivityAddedV1):
        old = event.payload
        return ActivityAdded(
            **envelope,
            payload=ActivityAddedPayload(
                **old.model_dump(exclude={"start_time", "end_time", "cost"}),
                start=_utc_moment(old.start_time),
                end=_utc_moment(old.end_time),
                cost=old.cost,
                currency=None if old.cost is None else "XXX",
                rank=None,
            ),
        )
    return event


def _utc_moment(moment: datetime | None) -> Moment | None:
    """A v1 time kept its instant, not its zone: read it in UTC (naive ones were UTC)."""
    if moment is None:
        return None
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return Moment(local=utc.replace(tzinfo=None), time_zone="UTC", utc=utc)


def serialize_event(event: EventEnvelope) -> bytes:
    return event.model_dump_json().encode()
