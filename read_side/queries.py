"""Query functions: the read side's use cases, each a small function over the read store."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from read_side.errors import (
    ActivityViewNotFoundError,
    DestinationViewNotFoundError,
    MembersOnlyError,
    TripViewNotFoundError,
    UserProfileNotFoundError,
    VersionAheadError,
)
from read_side.store import (
    ANY_TRIP,
    ProjectionChanges,
    StoredTrip,
    TripFilter,
    TripReadStore,
    reached,
)
from read_side.users import UserDirectory, UserProfilePage, UserProfileView
from read_side.views import ActivityView, DestinationView, TripSummaryPage, TripView

MAX_PAGE_SIZE = 100
TRIP_VIEWS = "trip_views"  # the projection that writes trip views and lists
POLL_SECONDS = 0.01  # without change notifications (tests' memory store)

PARKED = "projection_parked"  # why a view is stale: its projection is parked
BEHIND = "not_yet_visible"  # the write has not reached the view within the wait


class TripAuthority(Protocol):
    """The event store's word on a trip, asked when its view cannot be trusted: the view is
    parked (it may miss a member's removal) or not projected yet."""

    async def readable_by(self, trip_id: UUID, user_id: UUID) -> bool: ...

    async def version(self, trip_id: UUID) -> int | None:
        """The trip's version in the event store; None if there is no such trip."""
        ...


@dataclass(frozen=True)
class Consistent:
    """A view, and why it may be older than what the caller asked for."""

    view: TripView
    stale_reason: str | None = None

    @property
    def stale(self) -> bool:
        return self.stale_reason is not None


@dataclass(frozen=True)
class Reading:
    store: TripReadStore
    authority: TripAuthority
    changes: ProjectionChanges | None = None
    timeout: float = 2.0


async def _readable(reading: Reading, stored: StoredTrip | None, viewer_id: UUID) -> bool:
    if stored is None:
        return False
    if stored.parked:
        return await reading.authority.readable_by(stored.view.id, viewer_id)
    return stored.view.readable_by(viewer_id)


async def member_detail(reading: Reading, trip_id: UUID, viewer_id: UUID, what: str) -> Consistent:
    """`trip_detail` for what only the trip's members may read (`what`: its analytics, its
    drafts...): a reader of a public trip who is not a member is refused."""
    found = await trip_detail(reading, trip_id, viewer_id)
    if found.view.role_of(viewer_id) is None:
        raise MembersOnlyError(what)
    return found


async def trip_detail(
    reading: Reading, trip_id: UUID, viewer_id: UUID, *, min_version: int | None = None
) -> Consistent:
    """The trip decoded, as its member sees it (read_side.served_reads serves it without
    decoding when it can), at least as new as the event store's version when the
    read began (or `min_version`, a version a command returned): every write that finished
    before this read is in it. The wait is bounded: on timeout the view is returned marked
    stale. A `min_version` the trip has not reached is refused at once.

    Who may read it comes from the view when the view is current; from the event store when
    the view cannot be trusted with it (parked, or behind the version asked for)."""
    deadline = time.monotonic() + reading.timeout
    # The stream's version, asked once: the version to wait for when none was named, and
    # what a named one is checked against if the view is behind it.
    stream_version = await reading.authority.version(trip_id) if min_version is None else None
    wanted = min_version if min_version is not None else stream_version
    if wanted is None:
        raise TripViewNotFoundError(trip_id)
    vouched = False  # the event store says the viewer may read the trip

    async def vouch() -> None:
        nonlocal vouched
        await _check_reachable(reading, trip_id, viewer_id, wanted, stream_version)
        vouched = True

    await wait_for_view(reading, trip_id, wanted, deadline, before_waiting=vouch)
    stored = await reading.store.get_trip(trip_id)
    if stored is None:
        raise TripViewNotFoundError(trip_id)
    behind = stored.view.version < wanted
    if stored.parked or behind:
        readable = vouched or await reading.authority.readable_by(trip_id, viewer_id)
    else:
        readable = stored.view.readable_by(viewer_id)
    if not readable:
        raise TripViewNotFoundError(trip_id)
    if stored.parked:
        return Consistent(stored.view, PARKED)
    return Consistent(stored.view, BEHIND if behind else None)


async def wait_for_view(
    reading: Reading,
    trip_id: UUID,
    wanted: int,
    deadline: float,
    before_waiting: Callable[[], Awaitable[None]] | None = None,
    seen: tuple[int, int] | None = None,
) -> None:
    """Return once the trip's view is parked or at least `wanted`, or at `deadline`. Each
    time the projection commits a change of it, the version its notice gave is taken, else
    the view's version is looked at (many readers may wait on a busy trip, among many busy
    trips). `seen`: a ticket of the trip's changes, and the (unparked) version read after it:
    not looked at again while no change came since. `before_waiting` runs once, before the
    first wait (it may refuse by raising)."""

    async def settled() -> bool:
        nonlocal before_waiting, seen
        changes = reading.changes
        heard = changes.version_heard(TRIP_VIEWS, trip_id) if changes is not None else None
        found: tuple[int, bool] | None
        if heard is not None:
            found = (heard, False)  # the latest notice of it said so (a parking says none)
        elif (
            seen is not None
            and changes is not None
            and changes.ticket(TRIP_VIEWS, trip_id) == seen[0]
        ):
            found = (seen[1], False)
        else:
            found = await reading.store.view_version(trip_id)
        seen = None
        if found is not None and (found[1] or found[0] >= wanted):
            return True
        if before_waiting is not None:
            await before_waiting()
            before_waiting = None
        return False

    timeout = deadline - time.monotonic()
    await reached(
        reading.changes, TRIP_VIEWS, timeout, settled, poll=POLL_SECONDS, aggregate=trip_id
    )


async def _check_reachable(
    reading: Reading, trip_id: UUID, viewer_id: UUID, wanted: int, stream_version: int | None
) -> None:
    """Refuse to wait for what will never come: a trip the viewer may not read (or that does
    not exist), or a version the trip has not reached (`stream_version`: the stream's
    version if already asked)."""
    if not await reading.authority.readable_by(trip_id, viewer_id):
        raise TripViewNotFoundError(trip_id)
    version = (
        stream_version if stream_version is not None else await reading.authority.version(trip_id)
    )
    if version is None:
        raise TripViewNotFoundError(trip_id)
    if version < wanted:
        raise VersionAheadError(trip_id, wanted)


async def my_trips(
    reading: Reading,
    user_id: UUID,
    *,
    limit: int = 50,
    after: str | None = None,
    where: TripFilter = ANY_TRIP,
) -> TripSummaryPage:
    """A page of the user's trips. A parked trip is listed only if the event store says
    the user may still read it."""
    page = await reading.store.list_trips(user_id, max(1, min(limit, MAX_PAGE_SIZE)), after, where)
    if not page.parked:
        return page
    kept = [
        item
        for item in page.items
        if item.trip_id not in page.parked
        or await reading.authority.readable_by(item.trip_id, user_id)
    ]
    return page.model_copy(update={"items": tuple(kept)})


async def with_usernames(directory: UserDirectory, view: TripView) -> TripView:
    """The view with each member's username and avatar URL, from the user directory (one
    lookup)."""
    profiles = await directory.profiles([member.user_id for member in view.members])
    members = tuple(
        m.model_copy(update={"username": p.username, "avatar": p.avatar_url})
        if (p := profiles.get(m.user_id))
        else m
        for m in view.members
    )
    return view.model_copy(update={"members": members})


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


def destination_in(found: Consistent, destination_id: UUID) -> DestinationView:
    for destination in found.view.destinations:
        if destination.id == destination_id:
            return destination
    raise DestinationViewNotFoundError(destination_id)


def activity_in(found: Consistent, activity_id: UUID) -> ActivityView:
    for destination in found.view.destinations:
        for activity in destination.activities:
            if activity.id == activity_id:
                return activity
    raise ActivityViewNotFoundError(activity_id)


def freshness(caught_up: bool) -> dict[str, object]:
    """`meta` of a read that waited for its projection: stale if the wait ran out."""
    return {"stale": False} if caught_up else {"stale": True, "stale_reason": BEHIND}


def stale_meta(found: Consistent) -> dict[str, object]:
    """What a response's `meta` says about the view's freshness."""
    meta: dict[str, object] = {"stale": found.stale, "version": found.view.version}
    if found.stale_reason is not None:
        meta["stale_reason"] = found.stale_reason
    return meta
