"""The sync service: a client's queued changes, each carried out once and answered on its
own (applied, in conflict, or refused), and conflicts settled by the user's choice."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from write_side.context import CommandContext, CommandKey
from write_side.errors import (
    ActivityNotFoundError,
    BaseVersionTooOldError,
    ConcurrencyConflictError,
    ConflictNotFoundError,
    DependencyUnavailableError,
    DestinationNotFoundError,
    DomainError,
    EntityDeletedError,
    EventStoreUnavailableError,
    TripNotFoundError,
    VersionAheadOfTripError,
)
from write_side.event_store import EventStore
from write_side.sync.apply import ChangeApplier
from write_side.sync.changes import Outcome, Resolution, SyncChange, outcome_of
from write_side.sync.conflict_record import record_conflict
from write_side.sync.fields import as_json, fields_of, since
from write_side.sync.log import SyncLog
from write_side.traced_aggregate import TracedAggregate
from write_side.trips.access import Action
from write_side.trips.command_record import earlier_result
from write_side.trips.trip import Trip

# Errors that say "not now", not "no": the push fails as a whole and the client retries it
# (its mutation ids make the retry safe); nothing about them is recorded.
TRANSIENT = (EventStoreUnavailableError, DependencyUnavailableError, ConcurrencyConflictError)

# How many of a trip's events a change's base may be behind: comparing field by field
# replays them all. Further behind, the client pulls and edits again (base_version_too_old).
MAX_EVENTS_SINCE_BASE = 5_000

Describe = Callable[[DomainError], tuple[str, str]]  # an error's stable code and message


class SyncService:
    def __init__(self, events: EventStore, applier: ChangeApplier, log: SyncLog) -> None:
        self.events = events
        self.applier = applier
        self.log = log

    def push(
        self,
        user_id: UUID,
        client_id: str,
        changes: Sequence[SyncChange],
        describe: Describe,
        correlation_id: UUID | None = None,
    ) -> list[Outcome]:
        """Each change in order; one refused does not stop the next."""
        correlation = correlation_id or uuid4()
        return [self._one(user_id, client_id, c, describe, correlation) for c in changes]

    def _one(
        self,
        user_id: UUID,
        client_id: str,
        change: SyncChange,
        describe: Describe,
        correlation_id: UUID,
    ) -> Outcome:
        key = None
        if change.mutation_id is not None:
            first = self.log.first_outcome(user_id, client_id, change.mutation_id)
            if first is not None:
                outcome, fingerprint = first
                if fingerprint != change.fingerprint:
                    return _refused(
                        change,
                        "mutation_id_reused",
                        "This mutation id was used for another change: give each change its own",
                    )
                return replace(outcome, replayed=True)
            key = CommandKey(f"sync/{client_id}/{change.mutation_id}", change.fingerprint)
        context = CommandContext(user_id, correlation_id, key)
        try:
            # Applied before, its outcome lost (a crash before the log): it applied, whatever
            # changed since; the commands answer their first results (and run what is left).
            ran = earlier_result(self.events, context) is not None
            conflict = None if ran else self._conflict(change, user_id, client_id)
            if conflict is not None:
                record_conflict(self.events, conflict, context)
            outcome = conflict or self._apply(change, context)
        except TRANSIENT:
            raise
        except DomainError as error:
            code, message = describe(error)
            outcome = _refused(change, code, message)
        return self.log.record(user_id, client_id, outcome, change.fingerprint)

    def _apply(self, change: SyncChange, context: CommandContext) -> Outcome:
        done = self.applier.apply(change, context)
        extra = {} if done.server_id is None else {"server_id": str(done.server_id)}
        return outcome_of(
            change,
            "applied",
            trip_id=done.trip_id,
            version=done.version,
            extra=extra,
        )

    def _conflict(self, change: SyncChange, user_id: UUID, client_id: str) -> Outcome | None:
        """A conflict if another user changed, since the version the client edited from,
        a field this change sets (or, for a delete, any field). Editing what is gone is
        refused (`entity_deleted`): the next pull brings its tombstone."""
        if change.action == "create" or change.entity_type == "message":
            return None
        if change.base_version is None and change.client_timestamp is None:
            return None  # nothing to compare with: the change wins
        trip_id = self._trip_of(change)
        trip = self._trip_to_change(trip_id, change, user_id)
        current = trip.version
        base = change.base_version
        if base is None and change.client_timestamp is not None:
            base = self._version_at(trip_id, change.client_timestamp, current)
        if base is None or base == current:
            return None
        if base > current:
            raise VersionAheadOfTripError(base, current)
        if current - base > MAX_EVENTS_SINCE_BASE:
            raise BaseVersionTooOldError(base, current)
        then: Trip = self.events.repository.get(trip_id, version=base)
        later = self.events.repository.event_store.get(trip_id, gt=base)
        assert isinstance(then, Trip)
        found = since(then, _traced(later), change.entity_type, change.entity_id, user_id)
        if found.gone:
            raise EntityDeletedError(change.entity_id)
        wanted = set(change.fields) - {"position", "trip_id", "destination_id"}
        clash = (
            found.changed_by_others
            if change.action == "delete"
            else found.changed_by_others & wanted
        )
        if not clash:
            return None
        server = as_json(fields_of(trip, change.entity_type, change.entity_id)) or {}
        if change.entity_type == "destination":  # as pulled: the zone set, or its location's
            server["time_zone"] = trip.destination(change.entity_id).zone
        mutation = change.mutation_id or str(uuid4())
        return outcome_of(
            change,
            "conflict",
            trip_id=trip_id,
            conflict_id=uuid5(NAMESPACE_URL, f"/sync-conflict/{user_id}/{client_id}/{mutation}"),
            fields=tuple(sorted(clash)),
            client_data=change.data,
            server_data={**server, "id": str(change.entity_id), "version": trip.version},
        )

    def _trip_to_change(self, trip_id: UUID, change: SyncChange, user_id: UUID) -> Trip:
        """The trip as it is now, once the user is found to may make this change (as the
        command will check again): before anything about it is compared or told. A trip the
        user cannot see, and what is in it, is not found, whatever it holds."""
        trip = self.applier.planner.get_trip(trip_id)
        manages = change.entity_type == "trip" and (
            change.action == "delete" or "visibility" in change.fields
        )
        try:
            trip.authorize(user_id, Action.MANAGE if manages else Action.EDIT)
        except TripNotFoundError:
            if change.entity_type == "destination":
                raise DestinationNotFoundError(change.entity_id) from None
            if change.entity_type == "activity":
                raise ActivityNotFoundError(change.entity_id) from None
            raise
        return trip

    def _trip_of(self, change: SyncChange) -> UUID:
        if change.entity_type == "trip":
            return change.entity_id
        if change.entity_type == "destination":
            return self.applier.planner.trip_id_of_destination(change.entity_id)
        return self.applier.planner.trip_id_of_activity(change.entity_id)

    def _version_at(self, trip_id: UUID, moment: datetime, newest: int) -> int | None:
        """The trip's version at `moment` (the seed's rule: changes after the client's
        edit may conflict with it); None if the trip is younger. Events are stamped in
        version order: a binary search reads a few of them, however long the history."""
        low, high, found = 1, newest, None
        while low <= high:
            middle = (low + high) // 2
            (stored,) = self.events.recorder.select_events(trip_id, gt=middle - 1, limit=1)
            event = self.events.mapper.to_domain_event(stored)
            assert isinstance(event, TracedAggregate.Event)
            if event.timestamp <= moment:
                found, low = middle, middle + 1
            else:
                high = middle - 1
        return found

    def conflict(self, conflict_id: UUID, user_id: UUID) -> tuple[Outcome, Resolution | None]:
        """One of the user's conflicts (another user's is not found)."""
        found = self.log.conflict(conflict_id)
        if found is None or found[0] != user_id:
            raise ConflictNotFoundError(conflict_id)
        return found[2], found[3]

    def resolve(
        self,
        conflict_id: UUID,
        user_id: UUID,
        strategy: str,
        change: SyncChange | None,
        describe: Describe,
    ) -> Resolution:
        """Settle a conflict: apply `change` (the client's, or the merged one) as a command
        run once per conflict, or nothing (server_wins); record who chose what, when."""
        _, settled = self.conflict(conflict_id, user_id)
        if settled is not None:
            return replace(settled, replayed=True)
        version = None
        if change is not None:
            key = CommandKey(f"sync-resolve/{conflict_id}", strategy)
            done = self.applier.apply(change, CommandContext(user_id, uuid4(), key))
            version = done.version
        resolution = Resolution(conflict_id, strategy, user_id, datetime.now(UTC), version)
        return self.log.resolve(resolution)


def _traced(events: object) -> list[TracedAggregate.Event]:
    found = []
    for event in events:  # type: ignore[attr-defined]
        assert isinstance(event, TracedAggregate.Event)
        found.append(event)
    return found


def _refused(change: SyncChange, code: str, message: str) -> Outcome:
    return outcome_of(
        change,
        "error",
        code=code,
        message=message,
        client_data=change.data,
    )
