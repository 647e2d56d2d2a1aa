"""The read store port: what projections write and queries read.

One adapter per backend (Postgres in infra, memory in tests); every adapter passes the same
contract test suite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from uuid import UUID

from read_side.views import TripSummary, TripSummaryPage, TripView


@dataclass(frozen=True)
class TripFilter:
    """Narrows a trip list; dates select trips that overlap [from_date, to_date]."""

    status: str | None = None
    role: str | None = None
    from_date: date | None = None
    to_date: date | None = None


ANY_TRIP = TripFilter()


@dataclass(frozen=True)
class TripViewChange:
    """A trip's new view and the list rows of every member who should see it."""

    view: TripView
    summaries: list[TripSummary]


# Given the stored view (or None), the change to store, or None when there is nothing to do.
TripViewUpdate = Callable[[TripView | None], TripViewChange | None]


class TripReadStore(Protocol):
    async def get_trip(self, trip_id: UUID) -> TripView | None: ...

    async def list_trips(
        self, user_id: UUID, limit: int, after: str | None, where: TripFilter = ANY_TRIP
    ) -> TripSummaryPage:
        """A page of the user's trips ordered by start date; `after` is the previous page's
        cursor (keyset: stable while trips are added)."""
        ...

    async def trip_holding(self, entity_id: UUID) -> TripView | None:
        """The trip one of whose destinations or activities has this id."""
        ...

    async def update_trip(self, trip_id: UUID, update: TripViewUpdate) -> bool:
        """Atomically: read the current view, call `update`, store its result (view and list
        rows together, replacing the trip's rows). Returns whether anything was stored."""
        ...

    async def load_position(self, name: str) -> int: ...

    async def save_position(self, name: str, position: int) -> None: ...
