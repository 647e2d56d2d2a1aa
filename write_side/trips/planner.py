"""The trip planner application service: load, check, mutate, save, return ids and versions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from write_side.context import CommandContext, acting_as
from write_side.errors import (
    ConcurrencyConflictError,
    DestinationNotFoundError,
    TripNotFoundError,
    VersionMismatchError,
)
from write_side.event_store import EventStore
from write_side.trips.commands import (
    AddActivity,
    AddDestination,
    CommandResult,
    PlanTrip,
    UpdateTripDetails,
)
from write_side.trips.destination_index import DestinationIndex
from write_side.trips.trip import Trip

MAX_CONFLICT_RETRIES = 5


class TripPlanner:
    """Handles trip commands against the event store."""

    def __init__(self, events: EventStore) -> None:
        self.events = events

    def plan_trip(self, command: PlanTrip, context: CommandContext) -> CommandResult:
        with acting_as(context):
            trip = Trip.plan(
                title=command.title,
                description=command.description,
                start_date=command.start_date,
                end_date=command.end_date,
                creator_id=context.actor_id,
            )
        self.events.save(trip)
        return CommandResult(id=trip.id, trip_id=trip.id, version=trip.version)

    def update_trip_details(
        self, command: UpdateTripDetails, context: CommandContext
    ) -> CommandResult:
        def update(trip: Trip) -> tuple[UUID, list[Any]]:
            trip.update_details(
                title=command.title,
                description=command.description,
                start_date=command.start_date,
                end_date=command.end_date,
            )
            return trip.id, []

        return self._change_trip(command.trip_id, command.expected_version, context, update)

    def add_destination(self, command: AddDestination, context: CommandContext) -> CommandResult:
        def add(trip: Trip) -> tuple[UUID, list[Any]]:
            destination_id = trip.add_destination(
                name=command.name,
                description=command.description,
                location=command.location,
                arrival_date=command.arrival_date,
                departure_date=command.departure_date,
            )
            index = DestinationIndex(destination_id=destination_id, trip_id=trip.id)
            return destination_id, [index]

        return self._change_trip(command.trip_id, command.expected_version, context, add)

    def add_activity(self, command: AddActivity, context: CommandContext) -> CommandResult:
        trip_id = self.trip_id_of_destination(command.destination_id)

        def add(trip: Trip) -> tuple[UUID, list[Any]]:
            activity_id = trip.add_activity(
                destination_id=command.destination_id,
                title=command.title,
                description=command.description,
                activity_type=command.activity_type,
                start_time=command.start_time,
                end_time=command.end_time,
                cost=command.cost,
            )
            return activity_id, []

        try:
            return self._change_trip(trip_id, command.expected_version, context, add)
        except TripNotFoundError:
            # The caller named a destination, not a trip: do not reveal which trip holds it.
            raise DestinationNotFoundError(command.destination_id) from None

    def get_trip(self, trip_id: UUID) -> Trip:
        trip = self.events.find(trip_id, Trip)
        if trip is None:
            raise TripNotFoundError(trip_id)
        return trip

    def trip_id_of_destination(self, destination_id: UUID) -> UUID:
        index = self.events.find(DestinationIndex.create_id(destination_id), DestinationIndex)
        if index is None:
            raise DestinationNotFoundError(destination_id)
        return index.trip_id

    def _change_trip(
        self,
        trip_id: UUID,
        expected_version: int | None,
        context: CommandContext,
        change: Callable[[Trip], tuple[UUID, list[Any]]],
    ) -> CommandResult:
        """Load the trip, apply the change as the actor, save atomically with any new index
        aggregates. A concurrent writer makes the save fail: without If-Match the command is
        retried on the fresh state (its guards run again), with If-Match it is refused."""
        for _ in range(MAX_CONFLICT_RETRIES):
            trip = self.get_trip(trip_id)
            trip.check_can_edit(context.actor_id)
            if expected_version is not None and expected_version != trip.version:
                raise VersionMismatchError(expected_version, trip.version)
            with acting_as(context):
                entity_id, others = change(trip)
            try:
                self.events.save(trip, *others)
            except IntegrityError:
                if expected_version is not None:
                    raise VersionMismatchError(
                        expected_version, self.get_trip(trip_id).version
                    ) from None
                continue
            return CommandResult(id=entity_id, trip_id=trip.id, version=trip.version)
        raise ConcurrencyConflictError(trip_id)
