"""Contracts of the `planner-events` topic: itinerary drafts asked for, started, completed
or failed, and accepted item by item. Keyed by the draft's id (the job's identity): a
draft's events are in order on one partition, and the planner role's consumers share the
jobs by partition. Money is a decimal string, local times carry no offset."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter

from streams.envelope import Contract, EventEnvelope
from streams.trip_payloads import LocalDateTime, Location

Pace = Literal["relaxed", "moderate", "packed"]
ActivityType = Literal["sightseeing", "restaurant", "hotel", "transport", "other"]


class DraftPreferences(Contract):
    interests: list[str]
    pace: Pace
    budget: Decimal | None
    currency: str | None
    must_see: list[str]
    avoid: list[str]
    notes: str


class DraftRequestedPayload(Contract):
    trip_id: UUID
    requested_by: UUID
    preferences: DraftPreferences
    trip_version: int


class DraftStartedPayload(Contract):
    trip_id: UUID
    attempt: int = Field(ge=1)
    model: str
    trip_version: int
    charged_on: date


class DraftItemDocument(Contract):
    item_id: UUID
    title: str
    description: str
    activity_type: ActivityType
    destination_id: UUID | None  # a destination of the trip, or
    new_destination: str | None  # the key of a destination the draft proposes
    start: LocalDateTime
    end: LocalDateTime
    time_zone: str
    cost: Decimal | None
    currency: str | None
    reason: str
    idea_key: str | None  # the trip's activity (id) or the recommendation it places


class DraftDayDocument(Contract):
    date: date
    items: list[DraftItemDocument]


class DraftDestinationDocument(Contract):
    item_id: UUID
    key: str
    name: str
    description: str
    location: Location
    time_zone: str
    arrival_date: date
    departure_date: date
    reason: str


class LeftoverDocument(Contract):
    key: str
    title: str
    reason: str


class DraftDocument(Contract):
    version: Literal[1]
    summary: str
    days: list[DraftDayDocument]
    destinations: list[DraftDestinationDocument]
    leftovers: list[LeftoverDocument]


class RepairedProblem(Contract):
    path: str
    code: str
    message: str


class DraftUsage(Contract):
    model: str
    tokens_in: int
    tokens_out: int
    cost: Decimal
    currency: str
    attempts: int
    reasks: int
    repaired: list[RepairedProblem]
    seconds: float
    cached: bool


class DraftCompletedPayload(Contract):
    trip_id: UUID
    draft: DraftDocument
    usage: DraftUsage


class DraftFailedPayload(Contract):
    trip_id: UUID
    reason: str  # stable: refused, timeout, rate_limited, quota_exceeded, ...
    message: str
    refunded: bool


class AcceptedItem(Contract):
    item_id: UUID
    kind: Literal["destination", "activity"]
    outcome: Literal["accepted", "already_accepted"]
    entity_id: UUID | None


class DraftItemsAcceptedPayload(Contract):
    trip_id: UUID
    acceptance_id: UUID  # the cause recorded on the trip's events it made
    accepted_by: UUID
    items: list[AcceptedItem]


class ItineraryDraftRequested(EventEnvelope):
    event_type: Literal["ItineraryDraftRequested"] = "ItineraryDraftRequested"
    schema_version: Literal[1] = 1
    payload: DraftRequestedPayload


class ItineraryDraftStarted(EventEnvelope):
    event_type: Literal["ItineraryDraftStarted"] = "ItineraryDraftStarted"
    schema_version: Literal[1] = 1
    payload: DraftStartedPayload


class ItineraryDraftCompleted(EventEnvelope):
    event_type: Literal["ItineraryDraftCompleted"] = "ItineraryDraftCompleted"
    schema_version: Literal[1] = 1
    payload: DraftCompletedPayload


class ItineraryDraftFailed(EventEnvelope):
    event_type: Literal["ItineraryDraftFailed"] = "ItineraryDraftFailed"
    schema_version: Literal[1] = 1
    payload: DraftFailedPayload


class ItineraryDraftItemsAccepted(EventEnvelope):
    event_type: Literal["ItineraryDraftItemsAccepted"] = "ItineraryDraftItemsAccepted"
    schema_version: Literal[1] = 1
    payload: DraftItemsAcceptedPayload


PLANNER_CONTRACTS: tuple[type[EventEnvelope], ...] = (
    ItineraryDraftRequested,
    ItineraryDraftStarted,
    ItineraryDraftCompleted,
    ItineraryDraftFailed,
    ItineraryDraftItemsAccepted,
)

PlannerEvent = Annotated[
    ItineraryDraftRequested
    | ItineraryDraftStarted
    | ItineraryDraftCompleted
    | ItineraryDraftFailed
    | ItineraryDraftItemsAccepted,
    Field(discriminator="event_type"),
]
_planner_event = TypeAdapter[PlannerEvent](PlannerEvent)


def parse_planner_event(raw: bytes | str) -> EventEnvelope:
    """Parse one `planner-events` message value; raises pydantic.ValidationError if
    malformed."""
    event: EventEnvelope = _planner_event.validate_json(raw, extra="ignore")
    return event
