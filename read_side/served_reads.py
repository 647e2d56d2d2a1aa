"""A trip, and a page of a user's trips, served as stored (JSON text ready to send, nothing
decoded) when that settles the read; else decoded, by `queries.trip_detail` and
`queries.my_trips`."""

from __future__ import annotations

import time
from dataclasses import replace
from uuid import UUID

from read_side.errors import TripViewNotFoundError
from read_side.queries import (
    BEHIND,
    MAX_PAGE_SIZE,
    TRIP_VIEWS,
    Consistent,
    Reading,
    my_trips,
    trip_detail,
    wait_for_view,
)
from read_side.store import ANY_TRIP, ServedTrip, ServedTripPage, TripFilter
from read_side.views import TripSummaryPage


async def trip_to_serve(
    reading: Reading, trip_id: UUID, viewer_id: UUID, *, min_version: int | None = None
) -> ServedTrip | Consistent:
    """`trip_detail`, as stored to serve when that settles it (one statement, nothing decoded):
    the view is not parked and is at least as new as `min_version`, else as the event store's
    version (read in the same statement), waited for if need be. Anything else is answered by
    `trip_detail`, within what is left of the wait.

    Who may read it is decided as `trip_detail` does: a view that is current decides it; a
    stale one decides nothing but whether to wait (the view is read again once it reached
    the version, and that one decides). If the wait runs out first, the view is served as
    stored, marked stale, when the event store says the viewer may read the trip."""
    started = time.monotonic()
    served = await _served(reading, trip_id, viewer_id, min_version, started + reading.timeout)
    if served is not None:
        return served
    left = max(0.0, reading.timeout - (time.monotonic() - started))
    return await trip_detail(
        replace(reading, timeout=left), trip_id, viewer_id, min_version=min_version
    )


async def _served(
    reading: Reading, trip_id: UUID, viewer_id: UUID, min_version: int | None, deadline: float
) -> ServedTrip | None:
    ticket = reading.changes.ticket(TRIP_VIEWS, trip_id) if reading.changes else None
    served = await reading.store.served_trip(trip_id, viewer_id)
    if served is None or served.parked:
        return None
    wanted = min_version if min_version is not None else served.stream_version
    if wanted is None:
        return None
    if served.version < wanted:
        # Wait where trip_detail would: the trip has that version, and the viewer is no
        # stranger to it (an older view that refuses them leaves it to the event store).
        reached = served.stream_version is not None and served.stream_version >= wanted
        if not (reached and served.readable):
            return None
        seen = None if ticket is None else (ticket, served.version)
        await wait_for_view(reading, trip_id, wanted, deadline, seen=seen)
        served = await reading.store.served_trip(trip_id, viewer_id)
        if served is None or served.parked:
            return None
        if served.version < wanted:
            return await _served_behind(reading, served, trip_id, viewer_id)
    if not served.readable:
        raise TripViewNotFoundError(trip_id)
    return served


async def _served_behind(
    reading: Reading, served: ServedTrip, trip_id: UUID, viewer_id: UUID
) -> ServedTrip:
    """The wait ran out: the view as stored, marked stale, if the event store (not the older
    view) says the viewer may read the trip, as trip_detail answers then. Under a load that
    keeps views behind, a read past its wait costs one question more, not a decoded view, a
    lookup of usernames and a second encoding: it must not cost most when the API is
    busiest."""
    if not await reading.authority.readable_by(trip_id, viewer_id):
        raise TripViewNotFoundError(trip_id)
    return replace(served, stale_reason=BEHIND)


async def trips_to_serve(
    reading: Reading,
    user_id: UUID,
    *,
    limit: int = 50,
    after: str | None = None,
    where: TripFilter = ANY_TRIP,
) -> ServedTripPage | TripSummaryPage:
    """`my_trips`, built by the store ready to serve (one statement, no row decoded, validated
    or encoded) unless a trip on the page is parked: then `my_trips` answers, asking the
    event store whether the user may still read it."""
    size = max(1, min(limit, MAX_PAGE_SIZE))
    served = await reading.store.served_trip_list(user_id, size, after, where)
    if not served.parked:
        return served
    return await my_trips(reading, user_id, limit=limit, after=after, where=where)
