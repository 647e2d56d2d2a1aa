"""Commands: what a caller asks the trip planner to do, as imperative, immutable values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from write_side.trips.access import Role, TripStatus, Visibility
from write_side.trips.itinerary import ActivityType


@dataclass(frozen=True)
class PlanTrip:
    title: str
    description: str
    start_date: date
    end_date: date
    currency: str | None = None  # ISO 4217: what a cost given without currency is in
    trip_id: UUID | None = None  # chosen by the client (offline creation); None: a new one


@dataclass(frozen=True)
class UpdateTripDetails:
    trip_id: UUID
    title: str | None = None
    description: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    status: TripStatus | None = None
    visibility: Visibility | None = None
    expected_version: int | None = None
    currency: str | None = None


@dataclass(frozen=True)
class ArchiveTrip:
    trip_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class RestoreTrip:
    trip_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class AddMember:
    trip_id: UUID
    user_id: UUID
    role: Role
    expected_version: int | None = None


@dataclass(frozen=True)
class ChangeMemberRole:
    trip_id: UUID
    user_id: UUID
    role: Role
    expected_version: int | None = None


@dataclass(frozen=True)
class RemoveMember:
    trip_id: UUID
    user_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class AddDestination:
    trip_id: UUID
    name: str
    description: str
    location: dict[str, Any]
    arrival_date: date
    departure_date: date
    expected_version: int | None = None
    time_zone: str | None = None  # IANA; None: the zone at its location
    destination_id: UUID | None = None  # chosen by the client (offline creation)


@dataclass(frozen=True)
class UpdateDestination:
    destination_id: UUID
    name: str
    description: str
    location: dict[str, Any]
    arrival_date: date
    departure_date: date
    expected_version: int | None = None
    time_zone: str | None = None  # IANA; None: keep the zone it has (or follow the location)


@dataclass(frozen=True)
class RemoveDestination:
    destination_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class MoveDestination:
    destination_id: UUID
    after_id: UUID | None  # None: first
    expected_version: int | None = None
    position: int | None = None  # instead of after_id: the place among siblings (0: first)


@dataclass(frozen=True)
class When:
    """A local wall-clock time and the IANA zone it is read in."""

    local: datetime
    time_zone: str
    fold: int | None = None  # which of a time that happens twice (0: the first, 1: the second)


@dataclass(frozen=True)
class At:
    """The seed's `start_time` / `end_time`: with an offset, an instant; without one, a
    wall-clock time in the destination's time zone."""

    moment: datetime


@dataclass(frozen=True)
class AddActivity:
    """A cost without currency is in the trip's currency (else the planner's default)."""

    destination_id: UUID
    title: str
    description: str
    activity_type: ActivityType
    start: When | At | None = None
    end: When | At | None = None
    cost: Decimal | None = None
    currency: str | None = None
    expected_version: int | None = None
    activity_id: UUID | None = None  # chosen by the client (offline creation)


@dataclass(frozen=True)
class UpdateActivity:
    """Changes the fields in `changes` (title, description, activity_type, start and end as
    When, At or None, cost, currency). `expected_version` refuses only changed-since fields."""

    activity_id: UUID
    changes: dict[str, Any]
    expected_version: int | None = None


@dataclass(frozen=True)
class RemoveActivity:
    activity_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class MoveActivity:
    activity_id: UUID
    after_id: UUID | None  # None: first in its destination
    expected_version: int | None = None
    position: int | None = None  # instead of after_id: the place among siblings (0: first)


@dataclass(frozen=True)
class CommandResult:
    """What a command returns: the entity it created or changed, and the trip's new version."""

    id: UUID
    trip_id: UUID
    version: int
    replayed: bool = False  # the command had run before under the same key: its first result
