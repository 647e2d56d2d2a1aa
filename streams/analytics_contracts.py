"""Contracts of the `analytics-events` topic: facts derived from the domain events, joined
with what an analytics team would otherwise join themselves (a trip's length, its member and
destination counts, an activity's local date and country), and free of personal data: no
names, emails, titles, descriptions or message contents. Users appear only as their opaque
ids.

Every fact is keyed by its trip and derived from exactly one domain event: its `event_id` is
a function of that event's id and the fact's type, so a fact produced twice (a retry after a
crash) carries the same id, and a consumer that keeps the ids it has seen counts it once.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import Field, TypeAdapter

from streams.envelope import Contract

Visibility = Literal["private", "shared", "public"]


class Fact(Contract):
    event_id: UUID  # uuid5 of the source event's id and the fact's type
    event_type: str
    schema_version: int
    trip_id: UUID  # the partition key
    source_event_id: UUID  # the domain event it was derived from
    occurred_at: datetime  # when the source event happened
    day: date  # occurred_at's UTC date: the day it counts in
    actor_id: UUID  # who did it (an opaque id)
    correlation_id: UUID  # the request the source event belongs to

    def partition_key(self) -> UUID:
        return self.trip_id


def fact_id(source_event_id: UUID, event_type: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"/facts/{source_event_id}/{event_type}")


class TripShape(Contract):
    """A trip at the moment of the fact."""

    length_days: int = Field(ge=1)
    start_date: date
    end_date: date
    destination_count: int = Field(ge=0)
    activity_count: int = Field(ge=0)
    member_count: int = Field(ge=1)
    visibility: Visibility
    currency: str | None  # ISO 4217; None until the trip chose one


class TripCreatedFactPayload(TripShape):
    pass


class TripCompletedFactPayload(TripShape):
    pass


class Place(Contract):
    """Where, without an address: the country (ISO 3166-1 alpha-2, from the destination's
    IANA time zone; None when unknown) and a cell of 0.1° by 0.1° (about 11 km) around it."""

    country: str | None
    cell: str  # "lat,lng" rounded to one decimal: "35.0,135.7"


class DestinationAddedFactPayload(Contract):
    destination_id: UUID
    place: Place
    nights: int = Field(ge=0)


class ActivityFigures(Contract):
    activity_id: UUID
    destination_id: UUID
    activity_type: str
    local_date: date | None  # the day it is planned for, where it happens; None: unscheduled
    hours: float | None  # planned duration; None: no start and end
    place: Place
    cost: Decimal | None
    currency: str | None  # the cost's own currency
    trip_currency: str | None  # the trip's currency when it happened (None: not chosen yet)
    # `cost` in `trip_currency`, at the rates the operator configured (None without them).
    converted_cost: Decimal | None = None


class ActivityPlannedFactPayload(ActivityFigures):
    pass


class ActivityRevisedFactPayload(ActivityFigures):
    """The activity as it is now; `previous_cost` and `previous_currency` are what it cost
    before, so spend per currency is planned - dropped + (cost - previous_cost)."""

    previous_cost: Decimal | None
    previous_currency: str | None


class ActivityDroppedFactPayload(ActivityFigures):
    """Removed, itself or with its destination: its cost leaves the trip's spend."""


class MemberJoinedFactPayload(Contract):
    user_id: UUID
    role: Literal["owner", "editor", "viewer"]
    member_count: int = Field(ge=1)


class MessagePostedFactPayload(Contract):
    message_id: UUID
    message_type: Literal["text", "system", "file"]
    length: int = Field(ge=0)  # characters; the content itself never leaves the chat


class SyncConflictFactPayload(Contract):
    entity_type: str  # trip, destination, activity
    action: str  # update, delete
    fields: list[str]  # the fields both sides changed


class TripCreatedFact(Fact):
    event_type: Literal["TripCreatedFact"] = "TripCreatedFact"
    schema_version: Literal[1] = 1
    payload: TripCreatedFactPayload


class TripCompletedFact(Fact):
    event_type: Literal["TripCompletedFact"] = "TripCompletedFact"
    schema_version: Literal[1] = 1
    payload: TripCompletedFactPayload


class DestinationAddedFact(Fact):
    event_type: Literal["DestinationAddedFact"] = "DestinationAddedFact"
    schema_version: Literal[1] = 1
    payload: DestinationAddedFactPayload


class ActivityPlannedFact(Fact):
    event_type: Literal["ActivityPlannedFact"] = "ActivityPlannedFact"
    schema_version: Literal[1] = 1
    payload: ActivityPlannedFactPayload


class ActivityRevisedFact(Fact):
    event_type: Literal["ActivityRevisedFact"] = "ActivityRevisedFact"
    schema_version: Literal[1] = 1
    payload: ActivityRevisedFactPayload


class ActivityDroppedFact(Fact):
    event_type: Literal["ActivityDroppedFact"] = "ActivityDroppedFact"
    schema_version: Literal[1] = 1
    payload: ActivityDroppedFactPayload


class MemberJoinedFact(Fact):
    event_type: Literal["MemberJoinedFact"] = "MemberJoinedFact"
    schema_version: Literal[1] = 1
    payload: MemberJoinedFactPayload


class MessagePostedFact(Fact):
    event_type: Literal["MessagePostedFact"] = "MessagePostedFact"
    schema_version: Literal[1] = 1
    payload: MessagePostedFactPayload


class SyncConflictFact(Fact):
    event_type: Literal["SyncConflictFact"] = "SyncConflictFact"
    schema_version: Literal[1] = 1
    payload: SyncConflictFactPayload


ANALYTICS_CONTRACTS: tuple[type[Fact], ...] = (
    TripCreatedFact,
    TripCompletedFact,
    DestinationAddedFact,
    ActivityPlannedFact,
    ActivityRevisedFact,
    ActivityDroppedFact,
    MemberJoinedFact,
    MessagePostedFact,
    SyncConflictFact,
)

AnalyticsFact = Annotated[
    TripCreatedFact
    | TripCompletedFact
    | DestinationAddedFact
    | ActivityPlannedFact
    | ActivityRevisedFact
    | ActivityDroppedFact
    | MemberJoinedFact
    | MessagePostedFact
    | SyncConflictFact,
    Field(discriminator="event_type"),
]

_analytics_fact = TypeAdapter[AnalyticsFact](AnalyticsFact)


def parse_analytics_fact(raw: bytes | str) -> Fact:
    """Parse one `analytics-events` message value; raises pydantic.ValidationError if it is
    not a fact of a known type."""
    fact: Fact = _analytics_fact.validate_json(raw, extra="ignore")
    return fact
