"""A sync conflict, kept as an event so analytics hear of it: one aggregate per conflict,
whose id is the conflict's (derived from the user, device and mutation), so the same
conflict found again on a retry is recorded once."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event
from eventsourcing.persistence import IntegrityError

from write_side.context import CommandContext, acting_as
from write_side.event_store import EventStore
from write_side.sync.changes import Outcome
from write_side.traced_aggregate import TracedAggregate


class SyncConflict(TracedAggregate):
    @event("Recorded")
    def __init__(
        self,
        conflict_id: UUID,
        trip_id: UUID,
        entity_type: str,
        action: str,
        fields: list[str],
    ) -> None:
        self.trip_id = trip_id

    @staticmethod
    def create_id(conflict_id: UUID) -> UUID:
        return conflict_id


def record_conflict(events: EventStore, outcome: Outcome, context: CommandContext) -> None:
    """Record a conflict outcome once (a retry finds it recorded)."""
    assert outcome.conflict_id is not None and outcome.trip_id is not None
    if events.find(outcome.conflict_id, SyncConflict) is not None:
        return
    with acting_as(context):
        conflict = SyncConflict(
            conflict_id=outcome.conflict_id,
            trip_id=outcome.trip_id,
            entity_type=outcome.entity_type,
            action=outcome.action,
            fields=list(outcome.fields),
        )
    try:
        events.save(conflict)
    except IntegrityError:
        if events.find(outcome.conflict_id, SyncConflict) is None:
            raise  # not a twin request that recorded it first
