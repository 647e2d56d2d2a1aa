"""How the API reads trips: the read store, woken by projection commits, and the event
store's word whenever a view cannot be trusted to decide who may read it."""

from __future__ import annotations

from uuid import UUID

from starlette.concurrency import run_in_threadpool

from read_side import queries
from read_side.queries import Consistent, Reading
from read_side.views import ActivityView, DestinationView
from write_side.trips.planner import TripPlanner


class PlannerAuthority:
    """Answers from the trip's stream in the event store (the read side's TripAuthority)."""

    def __init__(self, planner: TripPlanner) -> None:
        self._planner = planner

    async def readable_by(self, trip_id: UUID, user_id: UUID) -> bool:
        return await run_in_threadpool(self._planner.may_read, trip_id, user_id)

    async def version(self, trip_id: UUID) -> int | None:
        return await run_in_threadpool(self._planner.current_version, trip_id)


async def destination_read(
    reading: Reading,
    planner: TripPlanner,
    destination_id: UUID,
    user_id: UUID,
    min_version: int | None,
) -> tuple[DestinationView, Consistent]:
    """A destination and the view it was read from; with `min_version`, from its trip's view
    once that reached the version (the trip is found in the event store: a destination just
    added is not in any view yet)."""
    if min_version is None:
        return await queries.destination_detail(reading, destination_id, user_id)
    trip_id = await run_in_threadpool(planner.trip_id_of_destination, destination_id)
    found = await queries.trip_detail(reading, trip_id, user_id, min_version=min_version)
    return queries.destination_in(found, destination_id), found


async def activity_read(
    reading: Reading,
    planner: TripPlanner,
    activity_id: UUID,
    user_id: UUID,
    min_version: int | None,
) -> tuple[ActivityView, Consistent]:
    """An activity and the view it was read from, as `destination_read`."""
    if min_version is None:
        return await queries.activity_detail(reading, activity_id, user_id)
    trip_id = await run_in_threadpool(planner.trip_id_of_activity, activity_id)
    found = await queries.trip_detail(reading, trip_id, user_id, min_version=min_version)
    return queries.activity_in(found, activity_id), found
