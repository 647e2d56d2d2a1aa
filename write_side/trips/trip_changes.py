"""Changing a trip: load it, check the caller may, apply the change as the caller, save it in
one atomic write with what it adds (indexes, the command's record); and finding which trip
holds a destination or an activity."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from write_side.context import CommandContext, acting_as
from write_side.errors import (
    ActivityNotFoundError,
    ConcurrencyConflictError,
    DestinationNotFoundError,
    EntityExistsError,
    ForbiddenError,
    TripNotFoundError,
    VersionMismatchError,
)
from write_side.event_store import EventStore
from write_side.keyed_locks import KeyedLocks
from write_side.trips.access import Action
from write_side.trips.activity_index import ActivityIndex
from write_side.trips.command_record import earlier_result, records_of
from write_side.trips.commands import (
    CommandResult,
)
from write_side.trips.destination_index import DestinationIndex
from write_side.trips.trip import Trip

MAX_CONFLICT_RETRIES = 5
CONFLICT_PAUSE = 0.002  # seconds, doubled at each retry, a random part of it slept


class TripChanges:
    """The core every trip command runs through (see `TripPlanner` for the commands)."""

    def __init__(self, events: EventStore, default_currency: str = "EUR") -> None:
        self.events = events
        self._turns = KeyedLocks()  # of each trip, for the commands of this process
        # The currency of a cost given without one, in a trip without a currency of its own.
        self.default_currency = default_currency

    def _currency_of(self, trip: Trip) -> str:
        return trip.currency or self.default_currency

    def _check_free(
        self, kind: type[DestinationIndex] | type[ActivityIndex], entity_id: UUID, trip_id: UUID
    ) -> None:
        """A client-chosen id is free, or names an entity of this trip (a replayed create)."""
        index = self.events.find(kind.create_id(entity_id), kind)
        if index is not None and index.trip_id != trip_id:
            raise EntityExistsError(entity_id)

    def trip_id_of_activity(self, activity_id: UUID) -> UUID:
        index = self.events.find(ActivityIndex.create_id(activity_id), ActivityIndex)
        if index is None:
            raise ActivityNotFoundError(activity_id)
        return index.trip_id

    def _change_destination(
        self,
        destination_id: UUID,
        expected_version: int | None,
        context: CommandContext,
        change: Callable[[Trip], Change],
    ) -> CommandResult:
        """A change addressed by destination: an unknown one, or one in a trip the caller
        cannot see, is the same 404 (which trip holds it is not revealed)."""
        trip_id = self.trip_id_of_destination(destination_id)
        try:
            return self._change_trip(trip_id, expected_version, context, change, Action.EDIT)
        except TripNotFoundError:
            raise DestinationNotFoundError(destination_id) from None

    def _change_activity(
        self,
        activity_id: UUID,
        expected_version: int | None,
        context: CommandContext,
        change: Callable[[Trip], Change],
    ) -> CommandResult:
        trip_id = self.trip_id_of_activity(activity_id)
        try:
            return self._change_trip(trip_id, expected_version, context, change, Action.EDIT)
        except TripNotFoundError:
            raise ActivityNotFoundError(activity_id) from None

    def may_read(self, trip_id: UUID, user_id: UUID) -> bool:
        """Whether the user may read the trip, from its stream (not from a read model)."""
        try:
            self.get_trip(trip_id).authorize(user_id, Action.READ)
        except (TripNotFoundError, ForbiddenError):
            return False
        return True

    def current_version(self, trip_id: UUID) -> int | None:
        """The version of the trip's newest event; None if there is no such trip."""
        return self.events.newest_version(trip_id)

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
        change: Callable[[Trip], Change],
        action: Action,
    ) -> CommandResult:
        """Load the trip, check the caller may do `action`, apply the change as the caller,
        and save it in one atomic write with the aggregates it adds and the command's record
        (when the client named the command). The commands of one trip in this process take
        turns (racing, 30 at once on one trip, some ran out of retries: 409s for writes that
        did not conflict). A writer in another process makes the save fail: without If-Match
        the command runs again on the fresh state (its guards too) after a short random
        pause, with If-Match it is refused; a keyed command that ran meanwhile answers its
        first result."""
        with self._turns.hold(trip_id):
            for attempt in range(MAX_CONFLICT_RETRIES):
                if attempt:
                    time.sleep(random.uniform(0, CONFLICT_PAUSE * 2**attempt))
                if (earlier := earlier_result(self.events, context)) is not None:
                    return earlier
                trip = self.get_trip(trip_id)
                trip.authorize(context.actor_id, action)
                if expected_version is not None and expected_version != trip.version:
                    raise VersionMismatchError(expected_version, trip.version)
                with acting_as(context):
                    changed = change(trip)
                    result = CommandResult(
                        id=changed.entity_id, trip_id=trip.id, version=trip.version
                    )
                    records = records_of(context, result)
                try:
                    self.events.save(trip, *changed.also_saved, *records)
                except IntegrityError:
                    if (
                        expected_version is not None
                        and earlier_result(self.events, context) is None
                    ):
                        current = self.get_trip(trip_id).version
                        raise VersionMismatchError(expected_version, current) from None
                    continue
                return result
        raise ConcurrencyConflictError(trip_id)


@dataclass(frozen=True)
class Change:
    """What a command did to its trip: the entity it names in its result, and the aggregates
    it created beside the trip (indexes), saved in the same write."""

    entity_id: UUID
    also_saved: tuple[Aggregate, ...] = ()
