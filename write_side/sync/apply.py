"""A change, carried out as the commands HTTP uses: the same roles, invariants, time zones
and idempotency; nothing bypasses the aggregates."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from write_side.chat.commands import EditMessage, PostMessage
from write_side.chat.message import MessageType
from write_side.chat.service import Chat
from write_side.context import CommandContext, CommandKey
from write_side.errors import UnsupportedChangeError
from write_side.sync.changes import SyncChange
from write_side.trips import commands as c
from write_side.trips.planner import TripPlanner


@dataclass(frozen=True)
class Done:
    """Where a change's effects are: its trip and the version of the stream it changed (the
    trip's; a message's own), and the server's id where it chose one (a message)."""

    trip_id: UUID
    version: int
    server_id: UUID | None = None


class ChangeApplier:
    def __init__(self, planner: TripPlanner, chat: Chat) -> None:
        self.planner = planner
        self.chat = chat

    def apply(self, change: SyncChange, context: CommandContext) -> Done:
        f = change.fields
        if change.entity_type == "trip":
            return self._trip(change, f, context)
        if change.entity_type == "destination":
            return self._destination(change, f, context)
        if change.entity_type == "activity":
            return self._activity(change, f, context)
        return self._message(change, f, context)

    def _trip(self, change: SyncChange, f: dict[str, Any], context: CommandContext) -> Done:
        trip_id = change.entity_id
        if change.action == "create":
            result = self.planner.plan_trip(
                c.PlanTrip(
                    title=f["title"],
                    description=f.get("description", ""),
                    start_date=f["start_date"],
                    end_date=f["end_date"],
                    currency=f.get("currency"),
                    trip_id=trip_id,
                ),
                context,
            )
        elif change.action == "update":
            result = self.planner.update_trip_details(c.UpdateTripDetails(trip_id, **f), context)
        else:
            result = self.planner.archive_trip(c.ArchiveTrip(trip_id), context)
        return Done(result.trip_id, result.version)

    def _destination(self, change: SyncChange, f: dict[str, Any], context: CommandContext) -> Done:
        destination_id = change.entity_id
        position = f.pop("position", None)
        result: c.CommandResult | None = None
        if change.action == "delete":
            result = self.planner.remove_destination(c.RemoveDestination(destination_id), context)
        elif change.action == "create":
            result = self.planner.add_destination(
                c.AddDestination(
                    trip_id=f["trip_id"],
                    name=f["name"],
                    description=f.get("description", ""),
                    location=f["location"],
                    arrival_date=f["arrival_date"],
                    departure_date=f["departure_date"],
                    time_zone=f.get("time_zone"),
                    destination_id=destination_id,
                ),
                context,
            )
        elif f:  # only the fields sent change: the others are taken as they are now
            trip = self.planner.get_trip(self.planner.trip_id_of_destination(destination_id))
            now = trip.destination(destination_id)
            result = self.planner.update_destination(
                c.UpdateDestination(
                    destination_id=destination_id,
                    name=f.get("name", now.name),
                    description=f.get("description", now.description),
                    location=f.get("location", now.location),
                    arrival_date=f.get("arrival_date", now.arrival_date),
                    departure_date=f.get("departure_date", now.departure_date),
                    time_zone=f.get("time_zone"),
                ),
                context,
            )
        if position is not None and change.action != "delete":
            move = c.MoveDestination(destination_id, after_id=None, position=position)
            result = self.planner.move_destination(move, _step(context, "position"))
        return _done(result)

    def _activity(self, change: SyncChange, f: dict[str, Any], context: CommandContext) -> Done:
        activity_id = change.entity_id
        position = f.pop("position", None)
        result: c.CommandResult | None = None
        if change.action == "delete":
            result = self.planner.remove_activity(c.RemoveActivity(activity_id), context)
        elif change.action == "create":
            result = self.planner.add_activity(
                c.AddActivity(
                    destination_id=f["destination_id"],
                    title=f["title"],
                    description=f.get("description", ""),
                    activity_type=f["activity_type"],
                    start=f.get("start"),
                    end=f.get("end"),
                    cost=f.get("cost"),
                    currency=f.get("currency"),
                    activity_id=activity_id,
                ),
                context,
            )
        elif f:
            result = self.planner.update_activity(c.UpdateActivity(activity_id, f), context)
        if position is not None and change.action != "delete":
            move = c.MoveActivity(activity_id, after_id=None, position=position)
            result = self.planner.move_activity(move, _step(context, "position"))
        return _done(result)

    def _message(self, change: SyncChange, f: dict[str, Any], context: CommandContext) -> Done:
        if change.action == "create":
            posted = self.chat.post(
                PostMessage(
                    trip_id=f["trip_id"],
                    content=f["content"],
                    message_type=MessageType(f.get("message_type", MessageType.TEXT)),
                    reply_to=f.get("reply_to"),
                ),
                context,
            )
            return Done(posted.trip_id, posted.version, server_id=posted.id)
        if change.action == "update":
            message = self.chat.message(change.entity_id)
            edited = self.chat.edit(
                EditMessage(message.trip_id, change.entity_id, f["content"]), context
            )
            return Done(edited.trip_id, edited.version, server_id=edited.id)
        raise UnsupportedChangeError("a chat message cannot be deleted")


def _done(result: c.CommandResult | None) -> Done:
    if result is None:
        raise UnsupportedChangeError("the change names nothing to change")
    return Done(result.trip_id, result.version)


def _step(context: CommandContext, name: str) -> CommandContext:
    """The context of a change's second command (a reorder after an edit): its own key."""
    if context.key is None:
        return context
    return replace(context, key=CommandKey(f"{context.key.key}/{name}", context.key.fingerprint))
