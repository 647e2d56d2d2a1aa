"""Applies one contract event to the read models; shared by every driver."""

from __future__ import annotations

from dataclasses import dataclass

from projections.trip_view import project_trip
from projections.user_directory import project_user
from read_side.store import TripReadStore
from read_side.users import UserDirectory
from streams.contracts import EventEnvelope
from streams.topics import TRIP_EVENTS, USER_EVENTS


async def apply_trip_event(store: TripReadStore, event: EventEnvelope) -> bool:
    """Store the event's effect on the trip view and trip lists; False if already applied."""
    return await store.update_trip(event.aggregate_id, lambda view: project_trip(event, view))


async def apply_user_event(directory: UserDirectory, event: EventEnvelope) -> bool:
    """Store the event's effect on the user directory; False if already applied."""
    return await directory.update_user(
        event.aggregate_id, lambda profile: project_user(event, profile)
    )


@dataclass(frozen=True)
class ReadModels:
    """Every read model a projector keeps current."""

    trips: TripReadStore
    users: UserDirectory


async def apply_event(models: ReadModels, topic: str, event: EventEnvelope) -> bool:
    if topic == TRIP_EVENTS:
        return await apply_trip_event(models.trips, event)
    if topic == USER_EVENTS:
        return await apply_user_event(models.users, event)
    raise ValueError(f"No projection for topic {topic!r}")
