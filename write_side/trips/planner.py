"""The trip planner application service: load, check, mutate, save, return ids and versions."""

from __future__ import annotations

from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.persistence import IntegrityError

from write_side.context import CommandContext, acting_as
from write_side.errors import (
    MAX_YEAR,
    MIN_YEAR,
    EntityExistsError,
    TimeOutOfRangeError,
    UserNotFoundError,
)
from write_side.identity.user import User
from write_side.traced_aggregate import TracedAggregate
from write_side.trips.access import Action
from write_side.trips.activity_index import ActivityIndex
from write_side.trips.command_record import earlier_result, records_of
from write_side.trips.commands import (
    AddActivity,
    AddDestination,
    AddMember,
    ArchiveTrip,
    At,
    ChangeMemberRole,
    CommandResult,
    MoveActivity,
    MoveDestination,
    PlanTrip,
    RemoveActivity,
    RemoveDestination,
    RemoveMember,
    RestoreTrip,
    UpdateActivity,
    UpdateDestination,
    UpdateTripDetails,
    When,
)
from write_side.trips.destination_index import DestinationIndex
from write_side.trips.itinerary import LocalTime, to_follow
from write_side.trips.trip import Trip
from write_side.trips.trip_changes import Change, TripChanges


class TripPlanner(TripChanges):
    """Handles trip commands against the event store."""

    def plan_trip(self, command: PlanTrip, context: CommandContext) -> CommandResult:
        if (earlier := earlier_result(self.events, context)) is not None:
            return earlier
        with acting_as(context):
            trip = Trip.plan(
                title=command.title,
                description=command.description,
                start_date=command.start_date,
                end_date=command.end_date,
                creator_id=context.actor_id,
                currency=command.currency,
                trip_id=command.trip_id,
            )
            result = CommandResult(id=trip.id, trip_id=trip.id, version=trip.version)
            records = records_of(context, result)
        try:
            self.events.save(trip, *records)
        except IntegrityError:
            # A concurrent request with the same key, or a client-chosen id that exists.
            if (earlier := earlier_result(self.events, context)) is not None:
                return earlier
            if command.trip_id is None:
                raise
            return self._created_before(command.trip_id, context)
        return result

    def _created_before(self, trip_id: UUID, context: CommandContext) -> CommandResult:
        """A create replayed with the id it chose: a no-op if the caller created that trip."""
        existing = self.events.find(trip_id, Trip)
        if existing is None or existing.creator_id != context.actor_id:
            raise EntityExistsError(trip_id)
        return CommandResult(id=trip_id, trip_id=trip_id, version=existing.version, replayed=True)

    def update_trip_details(
        self, command: UpdateTripDetails, context: CommandContext
    ) -> CommandResult:
        details = (command.title, command.description, command.start_date, command.end_date)

        def update(trip: Trip) -> Change:
            if any(value is not None for value in details):
                trip.update_details(
                    title=command.title,
                    description=command.description,
                    start_date=command.start_date,
                    end_date=command.end_date,
                )
            if command.status is not None:
                trip.change_status(command.status)
            if command.visibility is not None:
                trip.change_visibility(command.visibility)
            if command.currency is not None:
                trip.choose_currency(command.currency)
            return Change(trip.id)

        action = Action.MANAGE if command.visibility is not None else Action.EDIT
        return self._change_trip(command.trip_id, command.expected_version, context, update, action)

    def archive_trip(self, command: ArchiveTrip, context: CommandContext) -> CommandResult:
        def archive(trip: Trip) -> Change:
            trip.archive()
            return Change(trip.id)

        return self._change_trip(
            command.trip_id, command.expected_version, context, archive, Action.MANAGE
        )

    def restore_trip(self, command: RestoreTrip, context: CommandContext) -> CommandResult:
        def restore(trip: Trip) -> Change:
            trip.restore()
            return Change(trip.id)

        return self._change_trip(
            command.trip_id,
            command.expected_version,
            context,
            restore,
            Action.RESTORE,
        )

    def add_member(self, command: AddMember, context: CommandContext) -> CommandResult:
        user = self.events.find(command.user_id, User)
        if user is None or not user.is_active:
            raise UserNotFoundError(command.user_id)

        def add(trip: Trip) -> Change:
            trip.add_member(command.user_id, command.role)
            return Change(command.user_id)

        return self._change_trip(
            command.trip_id, command.expected_version, context, add, Action.MANAGE
        )

    def change_member_role(
        self, command: ChangeMemberRole, context: CommandContext
    ) -> CommandResult:
        def change(trip: Trip) -> Change:
            trip.change_member_role(command.user_id, command.role)
            return Change(command.user_id)

        return self._change_trip(
            command.trip_id, command.expected_version, context, change, Action.MANAGE
        )

    def remove_member(self, command: RemoveMember, context: CommandContext) -> CommandResult:
        """Owners remove anyone; any member may leave (remove themselves)."""

        def remove(trip: Trip) -> Change:
            trip.remove_member(command.user_id)
            return Change(command.user_id)

        leaving = command.user_id == context.actor_id
        return self._change_trip(
            command.trip_id,
            command.expected_version,
            context,
            remove,
            Action.READ if leaving else Action.MANAGE,
        )

    def history(
        self, trip_id: UUID, viewer_id: UUID, *, after_version: int = 0, limit: int = 50
    ) -> list[TracedAggregate.Event]:
        """The trip's events from the event store, oldest first, upcast to their current
        class version: who did what, when. For members only: readers of a public trip see
        the plan, not who changed it."""
        self.get_trip(trip_id).authorize(viewer_id, Action.READ_HISTORY)
        events = []
        for stored in self.events.recorder.select_events(trip_id, gt=after_version, limit=limit):
            event = self.events.mapper.to_domain_event(stored)
            assert isinstance(event, TracedAggregate.Event)
            events.append(event)
        return events

    def add_destination(self, command: AddDestination, context: CommandContext) -> CommandResult:
        chosen = command.destination_id
        if chosen is not None:
            self._check_free(DestinationIndex, chosen, command.trip_id)

        def add(trip: Trip) -> Change:
            if chosen is not None and chosen in trip.destinations:
                return Change(chosen)  # a replayed create: nothing to do
            destination_id = trip.add_destination(
                name=command.name,
                description=command.description,
                location=command.location,
                arrival_date=command.arrival_date,
                departure_date=command.departure_date,
                time_zone=command.time_zone,
                destination_id=chosen,
            )
            index = DestinationIndex(destination_id=destination_id, trip_id=trip.id)
            return Change(destination_id, (index,))

        return self._change_trip(
            command.trip_id, command.expected_version, context, add, Action.EDIT
        )

    def update_destination(
        self, command: UpdateDestination, context: CommandContext
    ) -> CommandResult:
        def update(trip: Trip) -> Change:
            trip.update_destination(
                command.destination_id,
                name=command.name,
                description=command.description,
                location=command.location,
                arrival_date=command.arrival_date,
                departure_date=command.departure_date,
                time_zone=command.time_zone,
            )
            return Change(command.destination_id)

        return self._change_destination(
            command.destination_id, command.expected_version, context, update
        )

    def remove_destination(
        self, command: RemoveDestination, context: CommandContext
    ) -> CommandResult:
        def remove(trip: Trip) -> Change:
            trip.remove_destination(command.destination_id)
            return Change(command.destination_id)

        return self._change_destination(
            command.destination_id, command.expected_version, context, remove
        )

    def move_destination(self, command: MoveDestination, context: CommandContext) -> CommandResult:
        def move(trip: Trip) -> Change:
            after_id = command.after_id
            if command.position is not None:
                siblings = trip.destinations.values()
                after_id = to_follow(siblings, command.destination_id, command.position)
            trip.move_destination(command.destination_id, after_id)
            return Change(command.destination_id)

        return self._change_destination(
            command.destination_id, command.expected_version, context, move
        )

    def add_activity(self, command: AddActivity, context: CommandContext) -> CommandResult:
        chosen = command.activity_id
        if chosen is not None:
            trip_id = self.trip_id_of_destination(command.destination_id)
            self._check_free(ActivityIndex, chosen, trip_id)

        def add(trip: Trip) -> Change:
            if chosen is not None and any(
                chosen in d.activities for d in trip.destinations.values()
            ):
                return Change(chosen)  # a replayed create: nothing to do
            zone = trip.destination(command.destination_id).zone
            has_cost = command.cost is not None
            activity_id = trip.add_activity(
                destination_id=command.destination_id,
                title=command.title,
                description=command.description,
                activity_type=command.activity_type,
                start=_local_time(command.start, zone),
                end=_local_time(command.end, zone),
                cost=command.cost,
                currency=command.currency or (self._currency_of(trip) if has_cost else None),
                activity_id=chosen,
            )
            return Change(activity_id, (ActivityIndex(activity_id=activity_id, trip_id=trip.id),))

        return self._change_destination(
            command.destination_id, command.expected_version, context, add
        )

    def update_activity(self, command: UpdateActivity, context: CommandContext) -> CommandResult:
        def update(trip: Trip) -> Change:
            destination = trip.destination_of(command.activity_id)
            activity = destination.activities[command.activity_id]
            changes = {
                name: _local_time(value, destination.zone) if name in ("start", "end") else value
                for name, value in command.changes.items()
            }
            first_cost = changes.get("cost") is not None and activity.currency is None
            if first_cost and "currency" not in changes:  # in the trip's currency
                changes["currency"] = self._currency_of(trip)
            trip.update_activity(
                command.activity_id, changes, seen_version=command.expected_version
            )
            return Change(command.activity_id)

        # The version check is per field, inside the aggregate: a stale version only
        # conflicts if one of these fields changed since.
        return self._change_activity(command.activity_id, None, context, update)

    def remove_activity(self, command: RemoveActivity, context: CommandContext) -> CommandResult:
        def remove(trip: Trip) -> Change:
            trip.remove_activity(command.activity_id)
            return Change(command.activity_id)

        return self._change_activity(command.activity_id, command.expected_version, context, remove)

    def move_activity(self, command: MoveActivity, context: CommandContext) -> CommandResult:
        def move(trip: Trip) -> Change:
            after_id = command.after_id
            if command.position is not None:
                siblings = trip.destination_of(command.activity_id).activities.values()
                after_id = to_follow(siblings, command.activity_id, command.position)
            trip.move_activity(command.activity_id, after_id)
            return Change(command.activity_id)

        return self._change_activity(command.activity_id, command.expected_version, context, move)


def _local_time(when: When | At | None, zone: str) -> LocalTime | None:
    """A time as the aggregate keeps it. `At` is read in the destination's `zone`: an
    instant is shown on that zone's clock; a wall-clock time is that zone's."""
    if when is None:
        return None
    if isinstance(when, When):
        return LocalTime.at(when.local, when.time_zone, when.fold)
    if when.moment.tzinfo is None:
        return LocalTime.at(when.moment, zone)
    if not MIN_YEAR <= when.moment.year <= MAX_YEAR:  # before converting: it could overflow
        raise TimeOutOfRangeError(when.moment)
    there = when.moment.astimezone(ZoneInfo(zone))
    return LocalTime.at(there.replace(tzinfo=None), zone, there.fold)
