"""Read-model schemas: what queries return, shaped for the screens that show them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, computed_field


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class MemberView(View):
    user_id: UUID
    role: str
    joined_at: datetime
    invited_by: UUID | None  # None: the trip's creator
    username: str | None = None  # filled from the user directory when served
    avatar: str | None = None  # the member's avatar URL, filled alike


class MomentView(View):
    local: datetime
    time_zone: str
    utc: datetime

    def with_offset(self) -> datetime:
        """The instant as the wall clock there reads it, with that zone's offset."""
        return self.utc.astimezone(ZoneInfo(self.time_zone))


class ActivityView(View):
    id: UUID
    destination_id: UUID
    title: str
    description: str
    activity_type: str
    start: MomentView | None = None
    end: MomentView | None = None
    cost: Decimal | None = None
    currency: str | None = None
    rank: str = ""
    order: int
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def start_time(self) -> datetime | None:
        """The seed's name: the start as ISO 8601 with the local offset."""
        return None if self.start is None else self.start.with_offset()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def end_time(self) -> datetime | None:
        return None if self.end is None else self.end.with_offset()


class DestinationView(View):
    id: UUID
    trip_id: UUID
    name: str
    description: str
    location: dict[str, Any]
    arrival_date: date
    departure_date: date
    rank: str = ""
    order: int
    activities: tuple[ActivityView, ...] = ()
    created_at: datetime
    updated_at: datetime
    time_zone: str  # IANA: the one set, else the one at its location


class TripView(View):
    """One trip, its members, destinations and activities, as of `version`."""

    id: UUID
    version: int
    title: str
    description: str
    start_date: date
    end_date: date
    creator_id: UUID
    members: tuple[MemberView, ...]
    destinations: tuple[DestinationView, ...] = ()
    status: str = "draft"
    visibility: str = "private"
    archived: bool = False
    totals: dict[str, Decimal] = {}  # cost per currency
    created_at: datetime
    updated_at: datetime
    currency: str | None = None  # of costs given without one; None: the default setting's

    @computed_field  # type: ignore[prop-decorator]
    @property
    def creator(self) -> UUID:
        """The seed's name for `creator_id`."""
        return self.creator_id

    def role_of(self, user_id: UUID) -> str | None:
        return next((m.role for m in self.members if m.user_id == user_id), None)

    def readable_by(self, user_id: UUID) -> bool:
        return trip_readable(
            archived=self.archived,
            visibility=self.visibility,
            member=self.role_of(user_id) is not None,
        )


def trip_readable(*, archived: bool, visibility: str, member: bool) -> bool:
    """Who reads a trip: members read their trips; everyone signed in reads a public one;
    nobody an archived one. (From a decoded view, and from the columns beside a served one.)"""
    return not archived and (visibility == "public" or member)


class TripSummary(View):
    """One row of a user's trip list."""

    user_id: UUID
    trip_id: UUID
    role: str
    title: str
    start_date: date
    end_date: date
    status: str = "draft"
    version: int
    updated_at: datetime


class TripSummaryPage(View):
    items: tuple[TripSummary, ...]
    next_cursor: str | None
    parked: frozenset[UUID] = frozenset()  # trips on the page whose projection is parked
