"""The trip planner application service: load, check, mutate, save, return ids and versions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from write_side.context import CommandContext, acting_as
from write_side.errors import (
    ConcurrencyConflictError,
    DestinationNotFoundError,
    TripNotFoundError,
    VersionMismatchError,
)
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


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class TripPlanner(Application[UUID]):
    """Handles trip commands. Persistence comes from the environment (eventsourcing's
    PERSISTENCE_MODULE and POSTGRES_* settings); the default is in memory."""

    name = "itinera"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def plan_trip(self, command: PlanTrip, context: CommandContext) -> CommandResult:
        with acting_as(context):
            trip = Trip.plan(
                title=command.title,
                description=command.description,
                start_date=command.start_date,
                end_date=command.end_date,
                creator_id=context.actor_id,
            )
        self.save(trip)
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
        try:
            trip: Trip = self.repository.get(trip_id)
        except AggregateNotFoundError:
            raise TripNotFoundError(trip_id) from None
        if not isinstance(trip, Trip):
            raise TripNotFoundError(trip_id)
        return trip

    def trip_id_of_destination(self, destination_id: UUID) -> UUID:
        try:
            index: DestinationIndex = self.repository.get(
                DestinationIndex.create_id(destination_id)
            )
        except AggregateNotFoundError:
            raise DestinationNotFoundError(destination_id) from None
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
                self.save(trip, *others)
            except IntegrityError:
                if expected_version is not None:
                    raise VersionMismatchError(
                        expected_version, self.get_trip(trip_id).version
                    ) from None
                continue
            return CommandResult(id=entity_id, trip_id=trip.id, version=trip.version)
        raise ConcurrencyConflictError(trip_id)
