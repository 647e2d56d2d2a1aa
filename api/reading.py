"""How the API reads trips: the read store, woken by projection commits, and the event
store's word whenever a view cannot be trusted to decide who may read it."""

from __future__ import annotations

from uuid import UUID

from starlette.concurrency import run_in_threadpool

from write_side.trips.planner import TripPlanner


class PlannerAuthority:
    """Answers from the trip's stream in the event store (the read side's TripAuthority)."""

    def __init__(self, planner: TripPlanner) -> None:
        self._planner = planner

    async def readable_by(self, trip_id: UUID, user_id: UUID) -> bool:
        return await run_in_threadpool(self._planner.may_read, trip_id, user_id)

    async def version(self, trip_id: UUID) -> int | None:
        return await run_in_threadpool(self._planner.current_version, trip_id)
