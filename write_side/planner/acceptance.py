"""Accepting a draft, item by item: each accepted item becomes an ordinary trip command
(`AddDestination`, `AddActivity`, or scheduling an idea the trip already had with
`UpdateActivity`), so roles, invariants, sync and conflicts apply as to any other change,
checked against the trip as it is today, whatever version the draft was made on.

An item is created under its own id (the draft gave it one), so accepting it again, by
anyone, changes nothing. The trip's events name the acceptance as their cause, and the
draft records who accepted which items under that acceptance: history shows who accepted
what from which draft. Nothing is accepted that the caller did not name, except a proposed
destination an accepted activity needs (reported with the others).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.persistence import IntegrityError

from write_side.context import CommandContext, acting_as
from write_side.errors import DomainError
from write_side.event_store import EventStore
from write_side.planner.document import from_document
from write_side.planner.draft import DraftStatus, ItineraryDraft
from write_side.planner.drafting import DraftDestination, DraftItem
from write_side.planner.errors import DraftNotFoundError, DraftNotReadyError, UnknownDraftItemError
from write_side.trips.access import Action
from write_side.trips.commands import (
    AddActivity,
    AddDestination,
    UpdateActivity,
    When,
)
from write_side.trips.planner import TripPlanner
from write_side.trips.trip import Trip

ATTEMPTS = 5

Outcome = Literal["accepted", "already_accepted", "refused"]


@dataclass(frozen=True)
class ItemOutcome:
    item_id: UUID
    kind: Literal["destination", "activity"]
    outcome: Outcome
    entity_id: UUID | None  # the trip's destination or activity it is
    error: DomainError | None = None  # why it was refused

    def recorded(self) -> dict[str, Any]:
        return {
            "item_id": str(self.item_id),
            "kind": self.kind,
            "outcome": self.outcome,
            "entity_id": None if self.entity_id is None else str(self.entity_id),
        }


@dataclass(frozen=True)
class Accepted:
    acceptance_id: UUID
    outcomes: list[ItemOutcome]
    trip_version: int


class DraftAcceptance:
    def __init__(self, events: EventStore, trips: TripPlanner) -> None:
        self._events = events
        self._trips = trips

    def accept(
        self, draft_id: UUID, item_ids: Sequence[UUID] | None, context: CommandContext
    ) -> Accepted:
        """Accept the named items (None: all of them)."""
        draft = self._draft(draft_id)
        trip = self._trips.get_trip(draft.trip_id)
        trip.authorize(context.actor_id, Action.EDIT)
        if draft.status != DraftStatus.READY or draft.document is None:
            raise DraftNotReadyError(draft.status.value)
        plan = from_document(draft.document)
        destinations = {d.item_id: d for d in plan.destinations if d.item_id is not None}
        activities = {i.item_id: i for i in plan.items() if i.item_id is not None}
        wanted = (
            list(dict.fromkeys(item_ids))
            if item_ids is not None
            else [
                *destinations,
                *activities,
            ]
        )
        unknown = [i for i in wanted if i not in destinations and i not in activities]
        if unknown:
            raise UnknownDraftItemError(unknown)
        by_key = {d.key: d for d in plan.destinations}
        needed = [
            d.item_id
            for i in wanted
            if (a := activities.get(i)) is not None
            and (d := by_key.get(a.new_destination or "")) is not None
            and d.item_id is not None
        ]
        chosen = list(dict.fromkeys([*needed, *wanted]))
        acceptance_id = uuid5(NAMESPACE_URL, f"/acceptance/{draft_id}/{context.correlation_id}")
        acting = CommandContext(
            context.actor_id,
            context.correlation_id,
            causation_id=acceptance_id,
            traceparent=context.traceparent,
        )
        outcomes: list[ItemOutcome] = []
        for item_id in chosen:
            if item_id in destinations:
                outcomes.append(self._destination(trip.id, destinations[item_id], acting))
            else:
                item = activities[item_id]
                home = by_key[item.new_destination].item_id if item.new_destination else None
                outcomes.append(self._activity(trip.id, item, home, acting))
        done = [o for o in outcomes if o.outcome != "refused"]
        if done:
            self._record(draft_id, acceptance_id, done, context)
        version = self._trips.current_version(trip.id) or trip.version
        return Accepted(acceptance_id, outcomes, version)

    def _draft(self, draft_id: UUID) -> ItineraryDraft:
        draft = self._events.find(draft_id, ItineraryDraft)
        if draft is None:
            raise DraftNotFoundError(draft_id)
        return draft

    def _destination(
        self, trip_id: UUID, proposed: DraftDestination, context: CommandContext
    ) -> ItemOutcome:
        assert proposed.item_id is not None
        item_id = proposed.item_id
        if item_id in self._trips.get_trip(trip_id).destinations:
            return ItemOutcome(item_id, "destination", "already_accepted", item_id)
        command = AddDestination(
            trip_id=trip_id,
            name=proposed.name,
            description=proposed.description,
            location={"lat": proposed.lat, "lng": proposed.lng},
            arrival_date=proposed.arrival_date,
            departure_date=proposed.departure_date,
            time_zone=proposed.time_zone,
            destination_id=item_id,
        )
        return self._run(
            item_id, "destination", lambda: self._trips.add_destination(command, context)
        )

    def _activity(
        self, trip_id: UUID, item: DraftItem, home: UUID | None, context: CommandContext
    ) -> ItemOutcome:
        assert item.item_id is not None
        trip = self._trips.get_trip(trip_id)
        start, end = _when(item.start, item.time_zone), _when(item.end, item.time_zone)
        idea = _scheduled_idea(trip, item)
        if idea is not None:
            activity = trip.destination_of(idea).activities[idea]
            if activity.start is not None and activity.start.local == item.start:
                return ItemOutcome(item.item_id, "activity", "already_accepted", idea)
            update = UpdateActivity(activity_id=idea, changes={"start": start, "end": end})
            return self._run(
                item.item_id, "activity", lambda: self._trips.update_activity(update, context)
            )
        if any(item.item_id in d.activities for d in trip.destinations.values()):
            return ItemOutcome(item.item_id, "activity", "already_accepted", item.item_id)
        destination_id = item.destination_id or home
        assert destination_id is not None  # validation: one of the two is set
        command = AddActivity(
            destination_id=destination_id,
            title=item.title,
            description=item.description,
            activity_type=item.activity_type,
            start=start,
            end=end,
            cost=item.cost,
            currency=item.currency,
            activity_id=item.item_id,
        )
        return self._run(
            item.item_id, "activity", lambda: self._trips.add_activity(command, context)
        )

    def _run(
        self, item_id: UUID, kind: Literal["destination", "activity"], command: Any
    ) -> ItemOutcome:
        try:
            result = command()
        except DomainError as error:
            return ItemOutcome(item_id, kind, "refused", None, error)
        return ItemOutcome(item_id, kind, "accepted", result.id)

    def _record(
        self,
        draft_id: UUID,
        acceptance_id: UUID,
        outcomes: list[ItemOutcome],
        context: CommandContext,
    ) -> None:
        for _ in range(ATTEMPTS):
            draft = self._draft(draft_id)
            with acting_as(context):
                draft.accept_items(
                    acceptance_id=acceptance_id,
                    items=[o.recorded() for o in outcomes],
                    accepted_by=context.actor_id,
                )
            try:
                self._events.save(draft)
                return
            except IntegrityError:
                continue  # another acceptance of the same draft went first
        raise RuntimeError(f"could not record the acceptance of draft {draft_id}")


def _when(local: datetime, zone: str) -> When:
    return When(local=local, time_zone=zone, fold=0)


def _scheduled_idea(trip: Trip, item: DraftItem) -> UUID | None:
    """The trip's own activity the item schedules (an idea without a time yet), if any."""
    if item.idea_key is None:
        return None
    try:
        activity_id = UUID(item.idea_key)
    except ValueError:
        return None  # a recommendation, not one of the trip's activities
    for destination in trip.destinations.values():
        if activity_id in destination.activities:
            return activity_id
    return None
