"""Request bodies: validated at the edge, bounded in size, unknown fields refused."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from write_side.trips.access import Role, TripStatus, Visibility
from write_side.trips.trip import ActivityType

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=5000)]


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
    address: Annotated[str, StringConstraints(max_length=500)] = ""


class CreateDestinationBody(Body):
    trip_id: UUID
    name: Title
    description: Text = ""
    location: LocationBody
    arrival_date: date
    departure_date: date

    def location_dict(self) -> dict[str, Any]:
        return self.location.model_dump()


class CreateActivityBody(Body):
    destination_id: UUID
    title: Title
    description: Text = ""
    activity_type: ActivityType = ActivityType.OTHER
    start_time: datetime | None = None
    end_time: datetime | None = None
    cost: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)


class AddMemberBody(Body):
    user_id: UUID
    role: Role = Role.VIEWER


class MemberRoleBody(Body):
    role: Role
