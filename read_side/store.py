"""The read store port: what query functions read. Projections write these read models
through the projection engine (projections.engine); one adapter per backend (PostgreSQL in
infra, memory in tests), every adapter passing the same contract test suite."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from uuid import UUID

from read_side.views import TripSummaryPage, TripView


@dataclass(frozen=True)
class TripFilter:
    """Narrows a trip list; dates select trips that overlap [from_date, to_date]."""

    status: str | None = None
    role: str | None = None
    from_date: date | None = None
    to_date: date | None = None


ANY_TRIP = TripFilter()


@dataclass(frozen=True)
class StoredTrip:
    """A trip's view, and whether its projection is parked (the view is behind the event
    store until an operator retries or skips the event that failed)."""

    view: TripView
    parked: bool


@dataclass(frozen=True)
class ServedTrip:
    """A trip's view as the API serves it (JSON text, members with their profiles), and what
    decides whether it may be served as it is, all read in one statement."""

    data: str
    version: int
    parked: bool
    readable: bool  # by the viewer asked about, as `TripView.readable_by` says
    stream_version: int | None  # the event store's, read at the same instant; None: unknown
    stale_reason: str | None = None  # set when served older than asked (read_side.queries)


@dataclass(frozen=True)
class ServedTripPage:
    """A page of a user's trips as the API serves it: `data` is the JSON array of its items,
    as the page `list_trips` returns encodes (same values, same strings)."""

    data: str
    next_cursor: str | None
    parked: bool  # a trip on the page is parked: `list_trips` answers (its rows are checked)


class TripReadStore(Protocol):
    async def get_trip(self, trip_id: UUID) -> StoredTrip | None: ...

    async def served_trip(self, trip_id: UUID, viewer_id: UUID) -> ServedTrip | None:
        """The trip ready to serve; None when there is no view or it was stored before views
        were kept ready to serve (then `get_trip` answers)."""
        ...

    async def view_version(self, trip_id: UUID) -> tuple[int, bool] | None:
        """The version of the trip's view and whether it is parked (None: no view): what a
        reader waiting for a version looks at each time the projection commits, instead of
        loading the whole view."""
        ...

    async def list_trips(
        self, user_id: UUID, limit: int, after: str | None, where: TripFilter = ANY_TRIP
    ) -> TripSummaryPage:
        """A page of the user's trips ordered by start date; `after` is the previous page's
        cursor (keyset: stable while trips are added)."""
        ...

    async def served_trip_list(
        self, user_id: UUID, limit: int, after: str | None, where: TripFilter = ANY_TRIP
    ) -> ServedTripPage:
        """`list_trips`' page ready to serve, nothing decoded."""
        ...

    async def trip_holding(self, entity_id: UUID) -> StoredTrip | None:
        """The trip one of whose destinations or activities has this id."""
        ...


class ProjectionChanges(Protocol):
    """Wakes readers waiting for a projection to reach a version (read-your-writes)."""

    def ticket(self, projection: str, aggregate: UUID | None = None) -> int:
        """A mark of the changes seen so far (of `aggregate`, if given); take it before
        reading."""
        ...

    def version_heard(self, projection: str, aggregate: UUID) -> int | None:
        """The version of `aggregate` the projection last said it saved, when known."""
        ...

    async def wait(
        self, projection: str, ticket: int, timeout: float, aggregate: UUID | None = None
    ) -> None:
        """Return once the projection committed a change after `ticket` (of `aggregate`, if
        given: the ticket must be taken for the same aggregate), or after `timeout`."""
        ...


async def reached(
    changes: ProjectionChanges | None,
    projection: str,
    timeout: float,
    done: Callable[[], Awaitable[bool]],
    *,
    poll: float | None = None,
    aggregate: UUID | None = None,
) -> bool:
    """Wait until `done()` holds, asking again each time the projection commits (a change
    of `aggregate`, when given), for at most `timeout` seconds; whether it held. Without
    change notices it is asked once, or every `poll` seconds when given."""
    deadline = time.monotonic() + timeout
    while True:
        ticket = changes.ticket(projection, aggregate) if changes else 0
        if await done():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if changes is not None:
            await changes.wait(projection, ticket, remaining, aggregate)
        elif poll is not None:
            await asyncio.sleep(min(poll, remaining))
        else:
            return False
