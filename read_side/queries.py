"""Query functions: the read side's use cases, each a small function over the read store."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from uuid import UUID

from read_side.errors import (
    ActivityViewNotFoundError,
    DestinationViewNotFoundError,
    TripViewNotFoundError,
    UserProfileNotFoundError,
)
from read_side.store import ANY_TRIP, TripFilter, TripReadStore
from read_side.users import UserDirectory, UserProfilePage, UserProfileView
from read_side.views import ActivityView, DestinationView, TripSummaryPage, TripView

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Consistent:
    """A view and whether it is older than the version the caller asked for."""

    view: TripView
    stale: bool


def _visible(view: TripView | None, viewer_id: UUID) -> TripView | None:
    return view if view is not None and view.readable_by(viewer_id) else None


async def trip_detail(
    store: TripReadStore,
    trip_id: UUID,
    viewer_id: UUID,
    *,
    min_version: int | None = None,
    timeout: float = 2.0,
    poll_interval: float = 0.01,
) -> Consistent:
    """The trip as its member sees it. With `min_version`, waits (bounded by `timeout`) until
    the read model reflects at least that version: read-your-writes across the pipeline. On
    timeout the latest view is returned marked stale; a trip never seen raises not found."""
    deadline = time.monotonic() + timeout
    delay = poll_interval
    while True:
        view = await store.get_trip(trip_id)
        if min_version is None or (view is not None and view.version >= min_version):
            break
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)
    visible = _visible(view, viewer_id)
    if visible is None:
        raise TripViewNotFoundError(trip_id)
    stale = min_version is not None and visible.version < min_version
    return Consistent(view=visible, stale=stale)


async def my_trips(
    store: TripReadStore,
    user_id: UUID,
    *,
    limit: int = 50,
    after: str | None = None,
    where: TripFilter = ANY_TRIP,
) -> TripSummaryPage:
    return await store.list_trips(user_id, max(1, min(limit, MAX_PAGE_SIZE)), after, where)


async def user_profile(directory: UserDirectory, user_id: UUID) -> UserProfileView:
    """A user's public profile; deactivated users have none."""
    profile = await directory.get_user(user_id)
    if profile is None or not profile.is_active:
        raise UserProfileNotFoundError(user_id)
    return profile


async def find_users(
    directory: UserDirectory, prefix: str, *, limit: int = 20, after: str | None = None
) -> UserProfilePage:
    return await directory.search_users(prefix.strip(), max(1, min(limit, MAX_PAGE_SIZE)), after)


async def destination_detail(
    store: TripReadStore, destination_id: UUID, viewer_id: UUID
) -> DestinationView:
    view = _visible(await store.trip_holding(destination_id), viewer_id)
    found = next((d for d in view.destinations if d.id == destination_id), None) if view else None
    if found is None:
        raise DestinationViewNotFoundError(destination_id)
    return found


async def activity_detail(store: TripReadStore, activity_id: UUID, viewer_id: UUID) -> ActivityView:
    view = _visible(await store.trip_holding(activity_id), viewer_id)
    for destination in view.destinations if view else ():
        for activity in destination.activities:
            if activity.id == activity_id:
                return activity
    raise ActivityViewNotFoundError(activity_id)
