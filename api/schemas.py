"""Request bodies: validated at the edge, bounded in size, unknown fields refused."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from api.text import Line, Text, Title
from write_side.trips.access import Role, TripStatus, Visibility
from write_side.trips.commands import At, When
from write_side.trips.itinerary import ActivityType


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Decimal places are checked against the currency's own (JPY none, EUR 2, KWD 3).
Amount = Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=4, allow_inf_nan=False)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def _known_zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone (such as Europe/Lisbon)") from None
    return value


CURRENCY_OF_TRIP = (
    "ISO 4217, e.g. JPY: the currency of costs given without one (else ITINERA_DEFAULT_CURRENCY)"
)


class CreateTripBody(Body):
    title: Title
    description: Text = ""
    start_date: date
    end_date: date
    currency: Currency | None = Field(default=None, description=CURRENCY_OF_TRIP)


class UpdateTripBody(Body):
    title: Title | None = None
    description: Text | None = None
    start_date: date | None = None
    end_date: date | None = None
    status: TripStatus | None = None
    visibility: Visibility | None = None
    currency: Currency | None = Field(default=None, description=CURRENCY_OF_TRIP)

    @model_validator(mode="after")
    def _something_changes(self) -> UpdateTripBody:
        if not self.model_fields_set:
            raise ValueError("Name at least one field to change")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f'{name} cannot be null (send "" to clear a description)')
        return self


class LocationBody(Body):
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lng: float = Field(ge=-180, le=180, allow_inf_nan=False)
    address: Line = ""


DESTINATION_ZONE = (
    "IANA, e.g. Asia/Tokyo: the zone its wall-clock times are read in; by default the one "
    "at its location"
)


class CreateDestinationBody(Body):
    trip_id: UUID
    name: Title
    description: Text = ""
    location: LocationBody
    arrival_date: date
    departure_date: date
    time_zone: Annotated[TimeZone | None, AfterValidator(_known_zone)] = Field(
        default=None, description=DESTINATION_ZONE
    )

    def location_dict(self) -> dict[str, Any]:
        return self.location.model_dump()


class UpdateDestinationBody(Body):
    name: Title
    description: Text = ""
    location: LocationBody
    arrival_date: date
    departure_date: date
    time_zone: Annotated[TimeZone | None, AfterValidator(_known_zone)] = Field(
        default=None, description=DESTINATION_ZONE + "; omitted: unchanged"
    )


class ReorderBody(Body):
    """Either `after_id` (the sibling to come right after; null: first) or, as the seed has
    it, `order` (the place among its siblings, 0 first, as views number them)."""

    after_id: UUID | None = Field(
        default=None, description="The sibling to come right after; null: first"
    )
    order: int | None = Field(default=None, ge=0, le=100_000, description="0: first")

    @model_validator(mode="after")
    def _one_way(self) -> ReorderBody:
        given = {"after_id", "order"} & self.model_fields_set
        if len(given) != 1:
            raise ValueError("Give either after_id or order")
        if "order" in given and self.order is None:
            raise ValueError("order cannot be null")
        return self


class WhenBody(Body):
    """A wall-clock time where it happens, and that place's IANA time zone."""

    local: datetime = Field(description="Without offset, e.g. 2027-04-03T09:30")
    time_zone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="IANA name, e.g. Asia/Tokyo"
    )
    fold: Literal[0, 1] | None = Field(
        default=None,
        description="For a time that happens twice (clocks going back): 0 the first, 1 the "
        "second; refused with ambiguous_local_time when needed and missing",
    )

    @field_validator("local")
    @classmethod
    def _wall_clock(cls, value: datetime) -> datetime:
        if value.tzinfo is not None:
            raise ValueError("give the local time without an offset; the zone says where")
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        _known_zone(value)
        return value

    def when(self) -> When:
        return When(local=self.local, time_zone=self.time_zone, fold=self.fold)


SEED_TIME = (
    "The seed's shape: ISO 8601 with an offset (an instant) or without (a wall-clock time in "
    "the destination's time zone); instead of the structured one"
)


class CreateActivityBody(Body):
    """A cost without currency is in the trip's currency (else ITINERA_DEFAULT_CURRENCY)."""

    destination_id: UUID
    title: Title
    description: Text = ""
    activity_type: ActivityType = ActivityType.OTHER
    start: WhenBody | None = None
    end: WhenBody | None = None
    start_time: datetime | None = Field(default=None, description=SEED_TIME)
    end_time: datetime | None = Field(default=None, description=SEED_TIME)
    cost: Amount | None = None
    currency: Currency | None = Field(default=None, description="ISO 4217, e.g. JPY")

    @model_validator(mode="after")
    def _one_shape_per_time(self) -> CreateActivityBody:
        _one_shape(self.start, self.start_time, "start")
        _one_shape(self.end, self.end_time, "end")
        return self

    def starts(self) -> When | At | None:
        return _when_or_at(self.start, self.start_time)

    def ends(self) -> When | At | None:
        return _when_or_at(self.end, self.end_time)


class UpdateActivityBody(Body):
    """Only the fields sent change; `start`, `end` (or `start_time`, `end_time`) or `cost`
    sent as null are cleared."""

    title: Title | None = None
    description: Text | None = None
    activity_type: ActivityType | None = None
    start: WhenBody | None = None
    end: WhenBody | None = None
    start_time: datetime | None = Field(default=None, description=SEED_TIME)
    end_time: datetime | None = Field(default=None, description=SEED_TIME)
    cost: Amount | None = None
    currency: Currency | None = None

    @model_validator(mode="after")
    def _something_changes(self) -> UpdateActivityBody:
        sent = self.model_fields_set
        if not sent:
            raise ValueError("Name at least one field to change")
        for name in ("title", "description", "activity_type", "currency"):
            if name in sent and getattr(self, name) is None:
                raise ValueError(f'{name} cannot be null (send "" to clear a description)')
        for end in ("start", "end"):
            if {end, f"{end}_time"} <= sent:
                raise ValueError(f"give {end} or {end}_time, not both")
        return self

    def changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if name in ("start_time", "end_time"):
                changes[name.removesuffix("_time")] = None if value is None else At(value)
            elif isinstance(value, WhenBody):
                changes[name] = value.when()
            else:
                changes[name] = value
        return changes


def _one_shape(structured: WhenBody | None, seed: datetime | None, end: str) -> None:
    if structured is not None and seed is not None:
        raise ValueError(f"give {end} or {end}_time, not both")


def _when_or_at(structured: WhenBody | None, seed: datetime | None) -> When | At | None:
    if structured is not None:
        return structured.when()
    return None if seed is None else At(seed)


class AddMemberBody(Body):
    user_id: UUID
    role: Role = Role.VIEWER


class MemberRoleBody(Body):
    role: Role
