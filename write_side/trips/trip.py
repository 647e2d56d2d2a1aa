"""The Trip aggregate: a trip with its members, destinations and activities.

Public methods are commands: they check the invariants, then trigger a past-tense event whose
private handler only mutates state (handlers also run when the trip is loaded from its history,
where rules must not be checked again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import event

from write_side.errors import (
    AlreadyMemberError,
    DatesOutsideTripError,
    DestinationNotFoundError,
    EndBeforeStartError,
    ForbiddenError,
    InvalidStatusTransitionError,
    LastOwnerError,
    MemberNotFoundError,
    TimesOutsideDestinationError,
    TripNotFoundError,
)
from write_side.traced_aggregate import TracedAggregate
from write_side.trips.access import (
    ALLOWED,
    NEXT_STATUSES,
    Action,
    Role,
    TripStatus,
    Visibility,
)

__all__ = ["Action", "ActivityType", "Role", "Trip", "TripStatus", "Visibility"]


class ActivityType(StrEnum):
    SIGHTSEEING = "sightseeing"
    RESTAURANT = "restaurant"
    HOTEL = "hotel"
    TRANSPORT = "transport"
    OTHER = "other"


@dataclass
class Activity:
    id: UUID
    title: str
    description: str
    activity_type: ActivityType
    start_time: datetime | None
    end_time: datetime | None
    cost: Decimal | None


@dataclass
class Destination:
    id: UUID
    name: str
    description: str
    location: dict[str, Any]
    arrival_date: date
    departure_date: date
    activities: list[Activity] = field(default_factory=list)


class Trip(TracedAggregate):
    @event("Created")
    def __init__(
        self,
        title: str,
        description: str,
        start_date: date,
        end_date: date,
        creator_id: UUID,
    ) -> None:
        self.title = title
        self.description = description
        self.start_date = start_date
        self.end_date = end_date
        self.creator_id = creator_id
        self.members: dict[UUID, Role] = {creator_id: Role.OWNER}
        self.destinations: dict[UUID, Destination] = {}
        self.status = TripStatus.DRAFT
        self.visibility = Visibility.PRIVATE
        self.archived = False

    @classmethod
    def plan(
        cls,
        *,
        title: str,
        description: str,
        start_date: date,
        end_date: date,
        creator_id: UUID,
    ) -> Trip:
        _check_ordered(start_date, end_date, "The trip")
        return cls(
            title=title,
            description=description,
            start_date=start_date,
            end_date=end_date,
            creator_id=creator_id,
        )

    # --- authorization -------------------------------------------------------------------

    def authorize(self, user_id: UUID, action: Action) -> None:
        """Raise unless `user_id` may do `action`. A trip that is archived, or private to
        others, does not exist for the caller (404); a visible one refuses with 403."""
        role = self.members.get(user_id)
        if self.archived or (role is None and self.visibility != Visibility.PUBLIC):
            raise TripNotFoundError(self.id)
        if action not in (ALLOWED[role] if role else {Action.READ}):
            raise ForbiddenError(action)

    def authorize_restore(self, user_id: UUID) -> None:
        """Only an owner restores an archived trip; to anyone else it does not exist."""
        if self.members.get(user_id) != Role.OWNER:
            raise TripNotFoundError(self.id)

    # --- commands --------------------------------------------------------------------------

    def update_details(
        self,
        *,
        title: str | None = None,
        description: str | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
    ) -> None:
        new_start = start_date or self.start_date
        new_end = end_date or self.end_date
        _check_ordered(new_start, new_end, "The trip")
        for destination in self.destinations.values():
            _check_within(destination.arrival_date, destination.departure_date, new_start, new_end)
        self._details_updated(
            title=title, description=description, start_date=start_date, end_date=end_date
        )

    def change_status(self, status: TripStatus) -> None:
        if status == self.status:
            return
        if status not in NEXT_STATUSES[self.status]:
            raise InvalidStatusTransitionError(self.status, status)
        self._status_changed(status=str(status))

    def change_visibility(self, visibility: Visibility) -> None:
        if visibility != self.visibility:
            self._visibility_changed(visibility=str(visibility))

    def archive(self) -> None:
        if not self.archived:
            self._archived()

    def restore(self) -> None:
        if self.archived:
            self._restored()

    def add_member(self, user_id: UUID, role: Role) -> None:
        if user_id in self.members:
            raise AlreadyMemberError(user_id)
        self._member_added(user_id=user_id, role=str(role))

    def change_member_role(self, user_id: UUID, role: Role) -> None:
        current = self._member(user_id)
        if current == role:
            return
        if current == Role.OWNER:
            self._check_another_owner(user_id)
        self._member_role_changed(user_id=user_id, role=str(role))

    def remove_member(self, user_id: UUID) -> None:
        if self._member(user_id) == Role.OWNER:
            self._check_another_owner(user_id)
        self._member_removed(user_id=user_id)

    def add_destination(
        self,
        *,
        name: str,
        description: str,
        location: dict[str, Any],
        arrival_date: date,
        departure_date: date,
    ) -> UUID:
        _check_ordered(arrival_date, departure_date, "The destination")
        _check_within(arrival_date, departure_date, self.start_date, self.end_date)
        destination_id = uuid4()
        self._destination_added(
            destination_id=destination_id,
            name=name,
            description=description,
            location=location,
            arrival_date=arrival_date,
            departure_date=departure_date,
        )
        return destination_id

    def add_activity(
        self,
        *,
        destination_id: UUID,
        title: str,
        description: str,
        activity_type: ActivityType,
        start_time: datetime | None,
        end_time: datetime | None,
        cost: Decimal | None,
    ) -> UUID:
        destination = self._destination(destination_id)
        if start_time is not None and end_time is not None and end_time < start_time:
            raise EndBeforeStartError("The activity")
        for moment in (start_time, end_time):
            if moment is not None and not (
                destination.arrival_date <= moment.date() <= destination.departure_date
            ):
                raise TimesOutsideDestinationError()
        activity_id = uuid4()
        self._activity_added(
            destination_id=destination_id,
            activity_id=activity_id,
            title=title,
            description=description,
            activity_type=str(activity_type),
            start_time=start_time,
            end_time=end_time,
            cost=cost,
        )
        return activity_id

    # --- events ----------------------------------------------------------------------------

    @event("DetailsUpdated")
    def _details_updated(
        self,
        title: str | None,
        description: str | None,
        start_date: date | None,
        end_date: date | None,
    ) -> None:
        if title is not None:
            self.title = title
        if description is not None:
            self.description = description
        if start_date is not None:
            self.start_date = start_date
        if end_date is not None:
            self.end_date = end_date

    @event("DestinationAdded")
    def _destination_added(
        self,
        destination_id: UUID,
        name: str,
        description: str,
        location: dict[str, Any],
        arrival_date: date,
        departure_date: date,
    ) -> None:
        self.destinations[destination_id] = Destination(
            id=destination_id,
            name=name,
            description=description,
            location=location,
            arrival_date=arrival_date,
            departure_date=departure_date,
        )

    @event("ActivityAdded")
    def _activity_added(
        self,
        destination_id: UUID,
        activity_id: UUID,
        title: str,
        description: str,
        activity_type: str,
        start_time: datetime | None,
        end_time: datetime | None,
        cost: Decimal | None,
    ) -> None:
        self.destinations[destination_id].activities.append(
            Activity(
                id=activity_id,
                title=title,
                description=description,
                activity_type=ActivityType(activity_type),
                start_time=start_time,
                end_time=end_time,
                cost=cost,
            )
        )

    @event("StatusChanged")
    def _status_changed(self, status: str) -> None:
        self.status = TripStatus(status)

    @event("VisibilityChanged")
    def _visibility_changed(self, visibility: str) -> None:
        self.visibility = Visibility(visibility)

    @event("Archived")
    def _archived(self) -> None:
        self.archived = True

    @event("Restored")
    def _restored(self) -> None:
        self.archived = False

    @event("MemberAdded")
    def _member_added(self, user_id: UUID, role: str) -> None:
        self.members[user_id] = Role(role)

    @event("MemberRoleChanged")
    def _member_role_changed(self, user_id: UUID, role: str) -> None:
        self.members[user_id] = Role(role)

    @event("MemberRemoved")
    def _member_removed(self, user_id: UUID) -> None:
        del self.members[user_id]

    # --- guards ------------------------------------------------------------------------------

    def _member(self, user_id: UUID) -> Role:
        try:
            return self.members[user_id]
        except KeyError:
            raise MemberNotFoundError(user_id) from None

    def _check_another_owner(self, user_id: UUID) -> None:
        if not any(r == Role.OWNER for u, r in self.members.items() if u != user_id):
            raise LastOwnerError()

    def _destination(self, destination_id: UUID) -> Destination:
        try:
            return self.destinations[destination_id]
        except KeyError:
            raise DestinationNotFoundError(destination_id) from None


def _check_ordered(start: date, end: date, what: str) -> None:
    if end < start:
        raise EndBeforeStartError(what)


def _check_within(start: date, end: date, outer_start: date, outer_end: date) -> None:
    if start < outer_start or end > outer_end:
        raise DatesOutsideTripError()
