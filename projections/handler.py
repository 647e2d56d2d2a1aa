"""Applies one contract event to the read models; shared by every driver."""

from __future__ import annotations

from projections.trip_view import project_trip
from read_side.store import TripReadStore
from streams.contracts import EventEnvelope


async def apply_trip_event(store: TripReadStore, event: EventEnvelope) -> bool:
    """Store the event's effect on the trip view and trip lists; False if already applied."""
    return await store.update_trip(event.aggregate_id, lambda view: project_trip(event, view))
