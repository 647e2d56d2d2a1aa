"""Request bodies: validated at the edge, bounded in size, unknown fields refused."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from api.text import Line, Text, Title
from write_side.trips.access import Role, TripStatus, Visibility
from write_side.trips.commands import When
from write_side.trips.itinerary import ActivityType


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateTripBody(Body):
    title: Title
    description: Text = ""
    start_date: date
    end_date: date


class UpdateTripBody(Body):
    title: Title | None = None
    description: Text | None = None
    start_date: date | None = None
    end_date: date | None = None
    status: TripStatus | None = None
    visibility: Visibility | None = None

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


class CreateDestinationBody(Body):
    trip_id: UUID
    name: Title
    description: Text = ""
    location: LocationBody
    arrival_date: date
    departure_date: date

    def location_dict(self) -> dict[str, Any]:
        return self.location.model_dump()


class UpdateDestinationBody(Body):
    name: Title
    description: Text = ""
    location: LocationBody
    arrival_date: date
    departure_date: date


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
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone (such as Europe/Lisbon)") from None
        return value

    def when(self) -> When:
        return When(local=self.local, time_zone=self.time_zone, fold=self.fold)


# Decimal places are checked against the currency's own (JPY none, EUR 2, KWD 3).
Amount = Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=4, allow_inf_nan=False)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class CreateActivityBody(Body):
    destination_id: UUID
    title: Title
    description: Text = ""
    activity_type: ActivityType = ActivityType.OTHER
    start: WhenBody | None = None
    end: WhenBody | None = None
    cost: Amount | None = None
    currency: Currency | None = Field(default=None, description="ISO 4217, e.g. JPY")

    @model_validator(mode="after")
    def _cost_has_currency(self) -> CreateActivityBody:
        if self.cost is not None and self.currency is None:
            raise ValueError("a cost needs its currency")
        return self


class UpdateActivityBody(Body):
    """Only the fields sent change; `start`, `end` or `cost` sent as null are cleared."""

    title: Title | None = None
    description: Text | None = None
    activity_type: ActivityType | None = None
    start: WhenBody | None = None
    end: WhenBody | None = None
    cost: Amount | None = None
    currency: Currency | None = None

    @model_validator(mode="after")
    def _something_changes(self) -> UpdateActivityBody:
        if not self.model_fields_set:
            raise ValueError("Name at least one field to change")
        for name in ("title", "description", "activity_type", "currency"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f'{name} cannot be null (send "" to clear a description)')
        return self

    def changes(self) -> dict[str, Any]:
        return {
            name: value.when() if isinstance(value, WhenBody) else value
            for name in self.model_fields_set
            for value in [getattr(self, name)]
        }


class AddMemberBody(Body):
    user_id: UUID
    role: Role = Role.VIEWER


class MemberRoleBody(Body):
    role: Role
