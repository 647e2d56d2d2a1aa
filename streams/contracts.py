"""Versioned event contracts of `trip-events`: the JSON that analytics consumers and
projectors read.

Every message on a domain topic is an envelope (`streams.envelope`). `schema_version` changes
when a payload changes shape (a field removed, retyped or newly required); a new optional
field may join a version, so readers ignore fields they do not know. Consumers parse with
`parse_trip_event` and reject event types and versions they do not know.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Union
from uuid import UUID

from pydantic import Discriminator, Tag, TypeAdapter

from streams.envelope import Contract, EventEnvelope
from streams.trip_payloads import (
    ActivityAddedPayload,
    ActivityAddedV1Payload,
    ActivityChanges,
    ActivityRefPayload,
    ActivityUpdatedPayload,
    DestinationAddedPayload,
    DestinationAddedV1Payload,
    DestinationRefPayload,
    DestinationTimeZoneSetPayload,
    DestinationUpdatedPayload,
    EmptyPayload,
    LocalDateTime,
    Location,
    MemberPayload,
    MemberRemovedPayload,
    Moment,
    RankedActivityPayload,
    RankedDestinationPayload,
    SyncConflictRecordedPayload,
    TripCreatedPayload,
    TripCurrencyChosenPayload,
    TripDetailsUpdatedPayload,
    TripStatusChangedPayload,
    TripVisibilityChangedPayload,
)


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
    return upgrade(_trip_event.validate_json(raw, extra="ignore"))


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


# The envelope and the payloads are read through this module as well.
__all__ = [
    "TRIP_CONTRACTS",
    "ActivityAdded",
    "ActivityAddedPayload",
    "ActivityAddedV1",
    "ActivityAddedV1Payload",
    "ActivityChanges",
    "ActivityMoved",
    "ActivityRefPayload",
    "ActivityRemoved",
    "ActivityUpdated",
    "ActivityUpdatedPayload",
    "Contract",
    "DestinationAdded",
    "DestinationAddedPayload",
    "DestinationAddedV1",
    "DestinationAddedV1Payload",
    "DestinationMoved",
    "DestinationRefPayload",
    "DestinationRemoved",
    "DestinationTimeZoneSet",
    "DestinationTimeZoneSetPayload",
    "DestinationUpdated",
    "DestinationUpdatedPayload",
    "EmptyPayload",
    "EventEnvelope",
    "LocalDateTime",
    "Location",
    "MemberAdded",
    "MemberPayload",
    "MemberRemoved",
    "MemberRemovedPayload",
    "MemberRoleChanged",
    "Moment",
    "RankedActivityPayload",
    "RankedDestinationPayload",
    "SyncConflictRecorded",
    "SyncConflictRecordedPayload",
    "TripArchived",
    "TripCreated",
    "TripCreatedPayload",
    "TripCurrencyChosen",
    "TripCurrencyChosenPayload",
    "TripDetailsUpdated",
    "TripDetailsUpdatedPayload",
    "TripRestored",
    "TripStatusChanged",
    "TripStatusChangedPayload",
    "TripVisibilityChanged",
    "TripVisibilityChangedPayload",
    "parse_trip_event",
    "serialize_event",
    "upgrade",
]
