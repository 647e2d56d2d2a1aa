"""The Trip aggregate: a trip with its members, destinations and activities.

Public methods are commands: they check the invariants, then trigger a past-tense event whose
private handler only mutates state (handlers also run when the trip is loaded from its history,
where rules must not be checked again).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import event

from write_side.errors import (
    ActivityNotFoundError,
    AlreadyMemberError,
    DatesOutsideTripError,
    DestinationNotFoundError,
    EndBeforeStartError,
    FieldConflictError,
    ForbiddenError,
    InvalidStatusTransitionError,
    LastOwnerError,
    MemberNotFoundError,
    TimesOutsideDestinationError,
    TripClosedError,
    TripNotFoundError,
    VersionMismatchError,
)
from write_side.traced_aggregate import TracedAggregate
from write_side.trips.access import (
    ALLOWED,
    CLOSED,
    NEXT_STATUSES,
    Action,
    Role,
    TripStatus,
    Visibility,
)
from write_side.trips.itinerary import (
    NO_CURRENCY,
    Activity,
    ActivityType,
    ById,
    Destination,
    LocalTime,
    check_currency,
    check_money,
    check_time_zone,
    rank_after,
    rank_last,
)

__all__ = ["Action", "ActivityType", "Role", "Trip", "TripStatus", "Visibility"]

_UNSET: Any = object()


class Trip(TracedAggregate):
    currency: str | None = None  # what costs given without a currency are in (trips before
    # currencies, and snapshots taken before, have none)

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
        self.members: ById[Role] = ById({creator_id: Role.OWNER})
        self.destinations: ById[Destination] = ById()
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
        currency: str | None = None,
        trip_id: UUID | None = None,
    ) -> Trip:
        """A new trip, with `trip_id` if given (a client's offline creation)."""
        _check_ordered(start_date, end_date, "The trip")
        trip: Trip = cls._create(
            cls.Created,
            id=trip_id,
            title=title,
            description=description,
            start_date=start_date,
            end_date=end_date,
            creator_id=creator_id,
        )
        if currency is not None:
            trip.choose_currency(currency)
        return trip

    # --- authorization -------------------------------------------------------------------

    def authorize(self, user_id: UUID, action: Action) -> None:
        """Raise unless `user_id` may do `action`. A trip that is archived, or private to
        others, does not exist for the caller (404); a visible one refuses with 403. An
        archived trip exists for its owners only, to be restored."""
        role = self.members.get(user_id)
        if action == Action.RESTORE:
            if role != Role.OWNER:
                raise TripNotFoundError(self.id)
            return
        if self.archived or (role is None and self.visibility != Visibility.PUBLIC):
            raise TripNotFoundError(self.id)
        if action not in (ALLOWED[role] if role else {Action.READ}):
            raise ForbiddenError(action)

    # --- commands --------------------------------------------------------------------------

    def update_details(
        self,
        *,
        title: str | None = None,
        description: str | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
    ) -> None:
        if start_date is not None or end_date is not None:
            self._check_open()
        new_start = start_date or self.start_date
        new_end = end_date or self.end_date
        _check_ordered(new_start, new_end, "The trip")
        for destination in self.destinations.values():
            _check_within(destination.arrival_date, destination.departure_date, new_start, new_end)
        self._details_updated(
            title=title, description=description, start_date=start_date, end_date=end_date
        )

    def choose_currency(self, currency: str) -> None:
        if currency != self.currency:
            self._currency_chosen(currency=check_currency(currency))

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
        time_zone: str | None = None,
        destination_id: UUID | None = None,
    ) -> UUID:
        """Without `time_zone`, its zone is the one at its location; without
        `destination_id`, a new id."""
        self._check_open()
        self._check_destination_dates(arrival_date, departure_date)
        if time_zone is not None:
            check_time_zone(time_zone)
        destination_id = destination_id or uuid4()
        self._destination_added(
            destination_id=destination_id,
            name=name,
            description=description,
            location=location,
            arrival_date=arrival_date,
            departure_date=departure_date,
            rank=rank_last(self.destinations.values()),
        )
        if time_zone is not None:
            self._destination_time_zone_set(destination_id=destination_id, time_zone=time_zone)
        return destination_id

    def update_destination(
        self,
        destination_id: UUID,
        *,
        name: str,
        description: str,
        location: dict[str, Any],
        arrival_date: date,
        departure_date: date,
        time_zone: str | None = None,
    ) -> None:
        """With `time_zone`, its zone is that one from now on; without, it stays as it was
        (the one set, or the one at its location)."""
        self._check_open()
        destination = self.destination(destination_id)
        self._check_destination_dates(arrival_date, departure_date)
        if time_zone is not None:
            check_time_zone(time_zone)
        for activity in destination.activities.values():
            _check_times(arrival_date, departure_date, activity.start, activity.end)
        self._destination_updated(
            destination_id=destination_id,
            name=name,
            description=description,
            location=location,
            arrival_date=arrival_date,
            departure_date=departure_date,
        )
        if time_zone is not None and time_zone != destination.time_zone:
            self._destination_time_zone_set(destination_id=destination_id, time_zone=time_zone)

    def remove_destination(self, destination_id: UUID) -> None:
        """Its activities go with it."""
        self._check_open()
        self.destination(destination_id)
        self._destination_removed(destination_id=destination_id)

    def move_destination(self, destination_id: UUID, after_id: UUID | None) -> None:
        self._check_open()
        self.destination(destination_id)
        if after_id is not None:
            self.destination(after_id)
        if after_id == destination_id:
            return
        rank = rank_after(list(self.destinations.values()), after_id, moving=destination_id)
        self._destination_moved(destination_id=destination_id, rank=rank)

    def add_activity(
        self,
        *,
        destination_id: UUID,
        title: str,
        description: str,
        activity_type: ActivityType,
        start: LocalTime | None,
        end: LocalTime | None,
        cost: Decimal | None,
        currency: str | None,
        activity_id: UUID | None = None,
    ) -> UUID:
        self._check_open()
        destination = self.destination(destination_id)
        _check_times(destination.arrival_date, destination.departure_date, start, end)
        check_money(cost, currency)
        activity_id = activity_id or uuid4()
        self._activity_added(
            destination_id=destination_id,
            activity_id=activity_id,
            title=title,
            description=description,
            activity_type=str(activity_type),
            **_times(start, end),
            cost=cost,
            currency=currency if cost is not None else None,
            rank=rank_last(destination.activities.values()),
        )
        return activity_id

    def update_activity(
        self,
        activity_id: UUID,
        changes: dict[str, Any],
        *,
        seen_version: int | None = None,
    ) -> None:
        """Change the named fields (title, description, activity_type, start, end, cost,
        currency). With `seen_version`, refuse only if one of these fields changed since
        that version: editors changing different fields do not conflict."""
        self._check_open()
        destination, activity = self._activity(activity_id)
        if seen_version is not None and seen_version > self.version:
            raise VersionMismatchError(seen_version, self.version)  # a version never seen
        if seen_version is not None:
            clashing = sorted(f for f in changes if activity.changed_at.get(f, 0) > seen_version)
            if clashing:
                raise FieldConflictError(seen_version, self.version, clashing)
        start = changes.get("start", activity.start)
        end = changes.get("end", activity.end)
        _check_times(destination.arrival_date, destination.departure_date, start, end)
        if "cost" in changes or "currency" in changes:  # a legacy XXX cost stays editable
            check_money(
                changes.get("cost", activity.cost), changes.get("currency", activity.currency)
            )
        recorded: dict[str, Any] = {
            k: str(v) if k == "activity_type" else v
            for k, v in changes.items()
            if k in ("title", "description", "activity_type", "cost", "currency")
        }
        if "start" in changes:
            recorded.update(_moment("start", start))
        if "end" in changes:
            recorded.update(_moment("end", end))
        self._activity_updated(activity_id=activity_id, changes=recorded)

    def remove_activity(self, activity_id: UUID) -> None:
        self._check_open()
        self._activity(activity_id)
        self._activity_removed(activity_id=activity_id)

    def move_activity(self, activity_id: UUID, after_id: UUID | None) -> None:
        self._check_open()
        destination, _ = self._activity(activity_id)
        if after_id is not None and after_id not in destination.activities:
            raise ActivityNotFoundError(after_id)
        if after_id == activity_id:
            return
        siblings = list(destination.activities.values())
        rank = rank_after(siblings, after_id, moving=activity_id)
        self._activity_moved(activity_id=activity_id, rank=rank)

    def destination(self, destination_id: UUID) -> Destination:
        try:
            return self.destinations[destination_id]
        except KeyError:
            raise DestinationNotFoundError(destination_id) from None

    def destination_of(self, activity_id: UUID) -> Destination:
        return self._activity(activity_id)[0]

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

    class DestinationAdded(TracedAggregate.Event):
        """v2 adds `rank` (destinations used to be ordered by arrival in the stream)."""

        class_version = 2
        destination_id: UUID
        name: str
        description: str
        location: dict[str, Any]
        arrival_date: date
        departure_date: date
        rank: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["rank"] = None  # ranked on replay, after the destinations before it

    @event(DestinationAdded)
    def _destination_added(
        self,
        destination_id: UUID,
        name: str,
        description: str,
        location: dict[str, Any],
        arrival_date: date,
        departure_date: date,
        rank: str | None,
    ) -> None:
        self.destinations[destination_id] = Destination(
            id=destination_id,
            name=name,
            description=description,
            location=location,
            arrival_date=arrival_date,
            departure_date=departure_date,
            rank=rank or rank_last(self.destinations.values()),
        )

    @event("DestinationUpdated")
    def _destination_updated(
        self,
        destination_id: UUID,
        name: str,
        description: str,
        location: dict[str, Any],
        arrival_date: date,
        departure_date: date,
    ) -> None:
        destination = self.destinations[destination_id]
        destination.name = name
        destination.description = description
        destination.location = location
        destination.arrival_date = arrival_date
        destination.departure_date = departure_date

    @event("DestinationTimeZoneSet")
    def _destination_time_zone_set(self, destination_id: UUID, time_zone: str) -> None:
        self.destinations[destination_id].time_zone = time_zone

    @event("CurrencyChosen")
    def _currency_chosen(self, currency: str) -> None:
        self.currency = currency

    @event("DestinationRemoved")
    def _destination_removed(self, destination_id: UUID) -> None:
        del self.destinations[destination_id]

    @event("DestinationMoved")
    def _destination_moved(self, destination_id: UUID, rank: str) -> None:
        self.destinations[destination_id].rank = rank

    class ActivityAdded(TracedAggregate.Event):
        """v2: times are a local wall-clock time plus an IANA zone each (with the UTC
        instant), costs carry a currency, and activities have a rank."""

        class_version = 2
        destination_id: UUID
        activity_id: UUID
        title: str
        description: str
        activity_type: str
        start_local: datetime | None
        start_time_zone: str | None
        start_utc: datetime | None
        end_local: datetime | None
        end_time_zone: str | None
        end_utc: datetime | None
        cost: Decimal | None
        currency: str | None
        rank: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # v1 had one datetime per end, with an offset or none: keep the instant, read it
            # in UTC (the zone it was entered in is unknown); v1 costs had no currency.
            for end in ("start", "end"):
                moment = state.pop(f"{end}_time")
                at = None if moment is None else LocalTime.at(_as_utc_wall(moment), "UTC")
                state.update(_moment(end, at))
            state["currency"] = None if state["cost"] is None else NO_CURRENCY
            state["rank"] = None

    @event(ActivityAdded)
    def _activity_added(
        self,
        destination_id: UUID,
        activity_id: UUID,
        title: str,
        description: str,
        activity_type: str,
        start_local: datetime | None,
        start_time_zone: str | None,
        start_utc: datetime | None,
        end_local: datetime | None,
        end_time_zone: str | None,
        end_utc: datetime | None,
        cost: Decimal | None,
        currency: str | None,
        rank: str | None,
    ) -> None:
        destination = self.destinations[destination_id]
        destination.activities[activity_id] = Activity(
            id=activity_id,
            title=title,
            description=description,
            activity_type=ActivityType(activity_type),
            start=_local_time(start_local, start_time_zone, start_utc),
            end=_local_time(end_local, end_time_zone, end_utc),
            cost=cost,
            currency=currency,
            rank=rank or rank_last(destination.activities.values()),
        )

    @event("ActivityUpdated")
    def _activity_updated(self, activity_id: UUID, changes: dict[str, Any]) -> None:
        _, activity = self._activity(activity_id)
        version = self.version + 1  # the version this event gives the trip
        for name in ("title", "description", "cost", "currency"):
            if name in changes:
                setattr(activity, name, changes[name])
                activity.changed_at[name] = version
        if "activity_type" in changes:
            activity.activity_type = ActivityType(changes["activity_type"])
            activity.changed_at["activity_type"] = version
        for end in ("start", "end"):
            if f"{end}_local" in changes:
                setattr(
                    activity,
                    end,
                    _local_time(
                        changes[f"{end}_local"], changes[f"{end}_time_zone"], changes[f"{end}_utc"]
                    ),
                )
                activity.changed_at[end] = version

    @event("ActivityRemoved")
    def _activity_removed(self, activity_id: UUID) -> None:
        destination, _ = self._activity(activity_id)
        del destination.activities[activity_id]

    @event("ActivityMoved")
    def _activity_moved(self, activity_id: UUID, rank: str) -> None:
        self._activity(activity_id)[1].rank = rank

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

    def _check_open(self) -> None:
        """A completed or cancelled trip keeps its itinerary and dates as they were."""
        if self.status in CLOSED:
            raise TripClosedError(self.status)

    def _activity(self, activity_id: UUID) -> tuple[Destination, Activity]:
        for destination in self.destinations.values():
            if activity_id in destination.activities:
                return destination, destination.activities[activity_id]
        raise ActivityNotFoundError(activity_id)

    def _check_destination_dates(self, arrival: date, departure: date) -> None:
        _check_ordered(arrival, departure, "The destination")
        _check_within(arrival, departure, self.start_date, self.end_date)


def _check_ordered(start: date, end: date, what: str) -> None:
    if end < start:
        raise EndBeforeStartError(what)


def _check_within(start: date, end: date, outer_start: date, outer_end: date) -> None:
    if start < outer_start or end > outer_end:
        raise DatesOutsideTripError()


def _check_times(
    arrival: date, departure: date, start: LocalTime | None, end: LocalTime | None
) -> None:
    """End after start (as instants); both on the destination's days (as local dates)."""
    if start is not None and end is not None and end.utc < start.utc:
        raise EndBeforeStartError("The activity")
    for moment in (start, end):
        if moment is not None and not arrival <= moment.local.date() <= departure:
            raise TimesOutsideDestinationError()


def _moment(end: str, at: LocalTime | None) -> dict[str, Any]:
    return {
        f"{end}_local": at.local if at else None,
        f"{end}_time_zone": at.time_zone if at else None,
        f"{end}_utc": at.utc if at else None,
    }


def _times(start: LocalTime | None, end: LocalTime | None) -> dict[str, Any]:
    return {**_moment("start", start), **_moment("end", end)}


def _local_time(
    local: datetime | None, time_zone: str | None, utc: datetime | None
) -> LocalTime | None:
    if local is None or time_zone is None or utc is None:
        return None
    return LocalTime(local=local, time_zone=time_zone, utc=utc)


def _as_utc_wall(moment: datetime) -> datetime:
    """A v1 datetime as a naive UTC wall-clock time (naive ones were taken as UTC)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)
