"""In-memory fakes of our ports, for fast unit tests (they pass the same contract suites)."""

from __future__ import annotations

import asyncio
from uuid import UUID

from projections.handler import ReadModels
from read_side.errors import InvalidCursorError
from read_side.store import ANY_TRIP, TripFilter, TripViewUpdate
from read_side.users import UserProfilePage, UserProfileUpdate, UserProfileView
from read_side.views import TripSummary, TripSummaryPage, TripView


class InMemoryTripReadStore:
    def __init__(self) -> None:
        self.views: dict[UUID, TripView] = {}
        self.summaries: dict[tuple[UUID, UUID], TripSummary] = {}
        self.positions: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def get_trip(self, trip_id: UUID) -> TripView | None:
        return self.views.get(trip_id)

    async def list_trips(
        self, user_id: UUID, limit: int, after: str | None, where: TripFilter = ANY_TRIP
    ) -> TripSummaryPage:
        rows = sorted(
            (
                s
                for (u, _), s in self.summaries.items()
                if u == user_id
                and where.status in (None, s.status)
                and where.role in (None, s.role)
                and (where.from_date is None or s.end_date >= where.from_date)
                and (where.to_date is None or s.start_date <= where.to_date)
            ),
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

    async def trip_holding(self, entity_id: UUID) -> TripView | None:
        for view in self.views.values():
            for destination in view.destinations:
                if destination.id == entity_id or any(
                    a.id == entity_id for a in destination.activities
                ):
                    return view
        return None

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


class InMemoryUserDirectory:
    def __init__(self) -> None:
        self.profiles: dict[UUID, UserProfileView] = {}
        self._lock = asyncio.Lock()

    async def get_user(self, user_id: UUID) -> UserProfileView | None:
        return self.profiles.get(user_id)

    async def search_users(self, prefix: str, limit: int, after: str | None) -> UserProfilePage:
        p = prefix.lower()
        rows = sorted(
            (
                u
                for u in self.profiles.values()
                if u.is_active
                and any(n.lower().startswith(p) for n in (u.username, u.first_name, u.last_name))
            ),
            key=lambda u: (u.username.lower(), str(u.id)),
        )
        if after is not None:
            name, _, user_id = after.rpartition("|")
            if not name:
                raise InvalidCursorError("Malformed cursor")
            rows = [u for u in rows if (u.username.lower(), str(u.id)) > (name, user_id)]
        page = rows[:limit]
        cursor = f"{page[-1].username.lower()}|{page[-1].id}" if len(rows) > limit else None
        return UserProfilePage(items=tuple(page), next_cursor=cursor)

    async def update_user(self, user_id: UUID, update: UserProfileUpdate) -> bool:
        async with self._lock:
            profile = update(self.profiles.get(user_id))
            if profile is None:
                return False
            self.profiles[user_id] = profile
            return True


def in_memory_read_models() -> ReadModels:
    return ReadModels(trips=InMemoryTripReadStore(), users=InMemoryUserDirectory())
