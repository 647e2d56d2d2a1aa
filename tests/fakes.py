"""In-memory fakes of our ports, for fast unit tests (they pass the same contract suites)."""

from __future__ import annotations

import asyncio
from uuid import UUID

from read_side.errors import InvalidCursorError
from read_side.store import TripViewUpdate
from read_side.views import TripSummary, TripSummaryPage, TripView


class InMemoryTripReadStore:
    def __init__(self) -> None:
        self.views: dict[UUID, TripView] = {}
        self.summaries: dict[tuple[UUID, UUID], TripSummary] = {}
        self.positions: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def get_trip(self, trip_id: UUID) -> TripView | None:
        return self.views.get(trip_id)

    async def list_trips(self, user_id: UUID, limit: int, after: str | None) -> TripSummaryPage:
        rows = sorted(
            (s for (u, _), s in self.summaries.items() if u == user_id),
            key=lambda s: (s.start_date, str(s.trip_id)),
        )
        if after is not None:
            try:
                start, trip_id = after.split("|")
            except ValueError:
                raise InvalidCursorError("Malformed cursor") from None
            rows = [
                r for r in rows if (r.start_date.isoformat(), str(r.trip_id)) > (start, trip_id)
            ]
        page = rows[:limit]
        more = len(rows) > limit
        cursor = f"{page[-1].start_date.isoformat()}|{page[-1].trip_id}" if more else None
        return TripSummaryPage(items=tuple(page), next_cursor=cursor)

    async def update_trip(self, trip_id: UUID, update: TripViewUpdate) -> bool:
        async with self._lock:
            change = update(self.views.get(trip_id))
            if change is None:
                return False
            self.views[trip_id] = change.view
            for key in [k for k in self.summaries if k[1] == trip_id]:
                del self.summaries[key]
            for summary in change.summaries:
                self.summaries[(summary.user_id, trip_id)] = summary
            return True

    async def load_position(self, name: str) -> int:
        return self.positions.get(name, 0)

    async def save_position(self, name: str, position: int) -> None:
        self.positions[name] = position
