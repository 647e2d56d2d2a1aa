"""What a planner is asked and what it answers: a planning request built from the trip, and
a draft of days with timed items. Plain values, shared by every planner (the offline
scheduler, an LLM adapter), the validation that checks their drafts, and the draft's job.

Times in a draft are wall-clock times (naive `datetime`) read in the item's IANA zone: the
zone of its destination, as the trip itself records activities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal
from uuid import UUID

from write_side.trips.itinerary import ActivityType


class Pace(StrEnum):
    """How much a day holds besides meals: relaxed 2 activities, moderate 3, packed 5."""

    RELAXED = "relaxed"
    MODERATE = "moderate"
    PACKED = "packed"


@dataclass(frozen=True)
class Preferences:
    """What the travellers want, as the request gave it. `budget` is per person for the
    whole trip's activities, in `currency` (else the trip's)."""

    interests: tuple[str, ...] = ()
    pace: Pace = Pace.MODERATE
    budget: Decimal | None = None
    currency: str | None = None
    must_see: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class Place:
    """A destination of the trip: where, in which zone, on which dates (departure included)."""

    destination_id: UUID
    name: str
    description: str
    lat: float
    lng: float
    time_zone: str
    arrival_date: date
    departure_date: date


@dataclass(frozen=True)
class Booked:
    """An activity the trip already schedules: a draft plans around it, never over it."""

    activity_id: UUID
    destination_id: UUID
    title: str
    activity_type: ActivityType
    start: datetime  # local, in time_zone
    end: datetime  # local, in time_zone
    time_zone: str


IdeaSource = Literal["idea", "candidate"]


@dataclass(frozen=True)
class Idea:
    """Something to place. An `idea` is an activity of the trip with no time yet (its key is
    the activity's id, and placing it schedules that activity); a `candidate` is a
    recommendation (its key names it; placing it adds a new activity). `destination_id`
    None: wherever it fits best (nearest by coordinates, when it has some)."""

    key: str
    title: str
    description: str
    activity_type: ActivityType
    source: IdeaSource
    destination_id: UUID | None = None
    lat: float | None = None
    lng: float | None = None
    duration_minutes: int | None = None  # None: the activity type's default
    cost: Decimal | None = None
    currency: str | None = None
    reason: str = ""  # why it was suggested (candidates)


@dataclass(frozen=True)
class PlanningRequest:
    """Everything a planner may use, taken from the trip when the job runs."""

    trip_id: UUID
    title: str
    description: str
    start_date: date
    end_date: date
    currency: str | None
    places: tuple[Place, ...]
    booked: tuple[Booked, ...] = ()
    ideas: tuple[Idea, ...] = ()
    candidates: tuple[Idea, ...] = ()
    preferences: Preferences = field(default_factory=Preferences)

    def place(self, destination_id: UUID) -> Place | None:
        return next((p for p in self.places if p.destination_id == destination_id), None)


@dataclass(frozen=True)
class DraftItem:
    """One timed activity of a draft. `destination_id` is a destination of the trip, or
    None when `new_destination` names a destination the same draft proposes (by its
    `key`). `idea_key` is the idea or candidate it places (None: the planner's own)."""

    title: str
    description: str
    activity_type: ActivityType
    start: datetime  # local, in time_zone
    end: datetime  # local, in time_zone
    time_zone: str
    reason: str
    destination_id: UUID | None = None
    new_destination: str | None = None
    cost: Decimal | None = None
    currency: str | None = None
    idea_key: str | None = None
    item_id: UUID | None = None  # given by the job once the draft is accepted as valid


@dataclass(frozen=True)
class DraftDay:
    day: date
    items: tuple[DraftItem, ...]


@dataclass(frozen=True)
class DraftDestination:
    """A destination a draft proposes adding to the trip."""

    key: str  # what its items name it by in `new_destination`
    name: str
    description: str
    lat: float
    lng: float
    time_zone: str
    arrival_date: date
    departure_date: date
    reason: str
    item_id: UUID | None = None  # given by the job


@dataclass(frozen=True)
class Leftover:
    """An idea or candidate the draft could not place, and why: reported, never lost."""

    key: str
    title: str
    reason: str


@dataclass(frozen=True)
class Draft:
    days: tuple[DraftDay, ...]
    destinations: tuple[DraftDestination, ...] = ()
    leftovers: tuple[Leftover, ...] = ()
    summary: str = ""

    def items(self) -> list[DraftItem]:
        return [item for day in self.days for item in day.items]


@dataclass(frozen=True)
class Usage:
    """What producing a draft took: the model, tokens in and out, the cost in `currency`."""

    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    cost: Decimal = Decimal(0)
    currency: str = "USD"
    attempts: int = 1  # answers asked for (re-asks included)


@dataclass(frozen=True)
class Planned:
    draft: Draft
    usage: Usage


@dataclass(frozen=True)
class Problem:
    """One rule a draft breaks: where (`days[2].items[0].end`), a stable code, and a sentence
    precise enough to send back to a model."""

    path: str
    code: str
    message: str


@dataclass(frozen=True)
class Limits:
    """Bounds on what a draft may hold."""

    max_days: int = 60
    max_items_per_day: int = 12
    max_items: int = 300
    max_destinations: int = 10
    max_title: int = 200
    max_description: int = 2000
    max_reason: int = 500
