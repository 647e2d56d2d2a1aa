"""An entity's editable fields as the trip aggregate holds them, and which of them other
users changed since a version: what tells a real conflict from a false one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from write_side.chat.message import ChatMessage
from write_side.sync.changes import EntityType
from write_side.traced_aggregate import TracedAggregate
from write_side.trips.itinerary import LocalTime
from write_side.trips.trip import Trip

# The fields a change may carry, per entity type, as the aggregate names them.
EDITABLE: dict[EntityType, tuple[str, ...]] = {
    "trip": ("title", "description", "start_date", "end_date", "status", "visibility", "currency"),
    "destination": (
        "name",
        "description",
        "location",
        "arrival_date",
        "departure_date",
        "time_zone",
    ),
    "activity": ("title", "description", "activity_type", "start", "end", "cost", "currency"),
    "message": ("content",),
}


def fields_of(trip: Trip, entity_type: EntityType, entity_id: UUID) -> dict[str, Any] | None:
    """The entity's editable fields in this state of its trip; None if it has none (never
    added, removed, or the trip archived)."""
    if trip.archived:
        return None
    if entity_type == "trip":
        return {name: getattr(trip, name) for name in EDITABLE["trip"]}
    if entity_type == "destination":
        destination = trip.destinations.get(entity_id)
        if destination is None:
            return None
        return {name: getattr(destination, name) for name in EDITABLE["destination"]}
    for destination in trip.destinations.values():
        activity = destination.activities.get(entity_id)
        if activity is not None:
            return {name: getattr(activity, name) for name in EDITABLE["activity"]}
    return None


def message_fields(message: ChatMessage) -> dict[str, Any]:
    return {"content": message.content}


@dataclass(frozen=True)
class Since:
    """What became of an entity after a version: the fields other users changed, and
    whether it is gone now."""

    changed_by_others: frozenset[str]
    gone: bool


def since(
    trip: Trip,
    later: Iterable[TracedAggregate.Event],
    entity_type: EntityType,
    entity_id: UUID,
    actor_id: UUID,
) -> Since:
    """Replay `later` events on `trip` (its state at the base version; it is changed) and
    collect the entity's fields each event by another user changed. One's own changes,
    from any device, never conflict with one's own."""
    changed: set[str] = set()
    before = fields_of(trip, entity_type, entity_id)
    for event in later:
        event.mutate(trip)
        after = fields_of(trip, entity_type, entity_id)
        if event.actor_id != actor_id and before is not None and after is not None:
            changed.update(name for name in after if after[name] != before[name])
        before = after
    return Since(frozenset(changed), gone=before is None)


def as_json(fields: dict[str, Any] | None) -> dict[str, Any] | None:
    """The fields as the pull shows them (dates ISO, amounts as strings, times local+zone)."""
    if fields is None:
        return None
    return {name: _json(value) for name, value in fields.items()}


def _json(value: Any) -> Any:
    if isinstance(value, LocalTime):
        return {"local": value.local.isoformat(), "time_zone": value.time_zone}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    return value
